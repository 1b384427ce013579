"""Orders' keys in blocks of 50 (PostgreSQL): the order's sequence counts in
steps of 50, and a process that places orders draws one value for 50 orders
(config.db.bulk, keys drawn ahead). Other databases have no sequence to set."""

from django.db import migrations

KEY_BLOCK = 50


def _set_step(step: int):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(apps.get_model("orders", "Order")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET INCREMENT BY {step}")

    return run


class Migration(migrations.Migration):
    dependencies = [("orders", "0006_returns")]

    operations = [migrations.RunPython(_set_step(KEY_BLOCK), _set_step(1), elidable=False)]

"""Drop the one-column index on stock movements' product_id, which
movement_product_idx (product_id, id DESC) already serves: every movement
paid an insert into it for nothing. Only the index goes: Django's own
AlterField would also drop and re-add the foreign key constraint, which on
PostgreSQL checks every row again."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="stockmovement",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="movements",
                        to="inventory.product",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "inventory_stockmovement_product_id_4eccfd0a"',
                    reverse_sql='CREATE INDEX "inventory_stockmovement_product_id_4eccfd0a"'
                    ' ON "inventory_stockmovement" ("product_id")',
                ),
            ],
        ),
    ]

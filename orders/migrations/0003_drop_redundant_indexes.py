"""Drop four one-column indexes that a composite index already serves: every
order paid an insert into each for nothing.

- orders_order.created_at: order_created_idx (created_at DESC, id DESC);
- orders_order.customer_id: order_customer_created_idx (customer_id, …);
- orders_orderline.order_id: orders_line_position_unique (order_id, position);
- orders_idempotencykey.user_id: orders_idempotency_user_key_unique (user_id, key).

Only the indexes go: Django's own AlterField would also drop and re-add each
foreign key constraint, which on PostgreSQL checks every row again.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = {
    "orders_order_created_at_20b8d253": ("orders_order", "created_at"),
    "orders_order_customer_id_0b76f6a4": ("orders_order", "customer_id"),
    "orders_orderline_order_id_17f8f3ef": ("orders_orderline", "order_id"),
    "orders_idempotencykey_user_id_b09b3107": ("orders_idempotencykey", "user_id"),
}


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_order_total_check_in_cents"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="created_at",
                    field=models.DateTimeField(auto_now_add=True),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="orderline",
                    name="order",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="orders.order",
                    ),
                ),
                migrations.AlterField(
                    model_name="idempotencykey",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")',
                )
                for name, (table, column) in INDEXES.items()
            ],
        ),
    ]

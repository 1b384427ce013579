"""The order's timeline (OrderEvent), and the statuses `expired` and `returned`.

Orders placed before the timeline get their `placed` event, at the time they
were placed and by their customer, so every order's timeline starts with it
(the API answers 404 for an empty one). Status changes made before it were
not recorded and are not invented.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

STATUSES = [
    ("pending", "Pending"),
    ("paid", "Paid"),
    ("shipped", "Shipped"),
    ("delivered", "Delivered"),
    ("cancelled", "Cancelled"),
    ("expired", "Expired"),
    ("returned", "Returned"),
]


def placed_events(apps, schema_editor):
    """One INSERT … SELECT (plain SQL, the same on both databases): the ORM's
    bulk_create would stamp every event with now (``auto_now_add``)."""
    Order = apps.get_model("orders", "Order")
    OrderEvent = apps.get_model("orders", "OrderEvent")
    quote = schema_editor.connection.ops.quote_name
    schema_editor.execute(
        f"INSERT INTO {quote(OrderEvent._meta.db_table)} (order_id, type, to_status, actor_id, created_at)"
        f" SELECT id, %s, %s, customer_id, created_at FROM {quote(Order._meta.db_table)}",
        ["placed", "pending"],
    )


def no_events(apps, schema_editor):
    """Going back drops the table: nothing to undo row by row."""


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_drop_redundant_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="status",
            field=models.CharField(choices=STATUSES, default="pending", max_length=16),
        ),
        migrations.CreateModel(
            name="OrderEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "type",
                    models.CharField(
                        choices=[
                            ("placed", "Placed"),
                            ("status_changed", "Status changed"),
                            ("return_recorded", "Return recorded"),
                            ("note", "Note"),
                        ],
                        max_length=32,
                    ),
                ),
                ("from_status", models.CharField(blank=True, choices=STATUSES, max_length=16, null=True)),
                ("to_status", models.CharField(blank=True, choices=STATUSES, max_length=16, null=True)),
                ("note", models.TextField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="orders.order",
                    ),
                ),
            ],
            options={
                "ordering": ("created_at", "id"),
                "indexes": [models.Index(fields=["order", "created_at", "id"], name="order_event_order_idx")],
            },
        ),
        migrations.RunPython(placed_events, no_events),
    ]

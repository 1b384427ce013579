"""Unpaid orders expire: `expires_at`, and the index the expiry task reads.

Orders already pending when this ships get the upgrade's time plus
ORDER_PAYMENT_MINUTES (the contract), so a deploy never expires a backlog at
once; with ORDER_PAYMENT_MINUTES=0 they never expire.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def stamp_pending(apps, schema_editor):
    minutes = settings.ORDER_PAYMENT_MINUTES
    if minutes == 0:
        return
    Order = apps.get_model("orders", "Order")
    expires_at = timezone.now() + timedelta(minutes=minutes)
    Order.objects.using(schema_editor.connection.alias).filter(status="pending").update(expires_at=expires_at)


def unstamp(apps, schema_editor):
    """Going back drops the column: nothing to undo row by row."""


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_order_events")]

    operations = [
        migrations.AddField(model_name="order", name="expires_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(stamp_pending, unstamp),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("expires_at__isnull", False)), fields=["expires_at"], name="order_expiry_due_idx"
            ),
        ),
    ]

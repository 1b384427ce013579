"""The timeline's migration gives every order placed before it its `placed`
event, at the time it was placed and by its customer."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from orders.models import Order as OrderModel
from orders.models import OrderEvent
from tests.factories import UserFactory

BEFORE = [("orders", "0003_drop_redundant_indexes")]


@pytest.mark.django_db(transaction=True)
def test_orders_from_before_the_timeline_get_their_placed_event() -> None:
    customer = UserFactory.create()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    Order = MigrationExecutor(connection).loader.project_state(BEFORE[0]).apps.get_model("orders", "Order")
    placed_at = [datetime(2026, 1, n, 9, 30, tzinfo=UTC) for n in (1, 2)]
    old = [
        Order.objects.create(customer_id=customer.id, subtotal=Decimal("5.00"), total=Decimal("5.00"))
        for _ in placed_at
    ]
    for order, when in zip(old, placed_at, strict=True):
        Order.objects.filter(id=order.id).update(created_at=when)

    forward = MigrationExecutor(connection)
    forward.migrate(forward.loader.graph.leaf_nodes())

    events = list(OrderEvent.objects.order_by("order_id").values_list("order_id", "type", "to_status", "actor_id",
                                                                      "created_at"))  # fmt: skip
    assert events == [(o.id, "placed", "pending", customer.id, when) for o, when in zip(old, placed_at, strict=True)]


@pytest.mark.django_db(transaction=True)
def test_orders_pending_at_the_upgrade_get_the_upgrades_time_plus_the_payment_time(settings) -> None:
    settings.ORDER_PAYMENT_MINUTES = 30
    customer = UserFactory.create()
    before_expiry = [("orders", "0004_order_events")]
    executor = MigrationExecutor(connection)
    executor.migrate(before_expiry)
    Order = MigrationExecutor(connection).loader.project_state(before_expiry[0]).apps.get_model("orders", "Order")
    long_pending = Order.objects.create(customer_id=customer.id, subtotal=Decimal("5.00"), total=Decimal("5.00"))
    Order.objects.filter(id=long_pending.id).update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    paid = Order.objects.create(customer_id=customer.id, subtotal=Decimal("5.00"), total=Decimal("5.00"), status="paid")

    upgraded_at = timezone.now()
    forward = MigrationExecutor(connection)
    forward.migrate(forward.loader.graph.leaf_nodes())

    stamped = dict(OrderModel.objects.values_list("id", "expires_at"))
    # Placed long ago, yet not expired at once: the upgrade's time, not the order's, counts.
    expires_at = stamped[long_pending.id]
    assert expires_at is not None
    assert upgraded_at + timedelta(minutes=30) <= expires_at <= timezone.now() + timedelta(minutes=30)
    assert stamped[paid.id] is None

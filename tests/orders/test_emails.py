"""Order emails: queued with what their templates need, rendered when delivered."""

from decimal import Decimal

import pytest

from notifications.models import OutboxEmail
from notifications.services import outbox_render
from orders import services
from orders.domain.placement import DraftLine, OrderDraft
from orders.emails import order_email_context
from orders.models import OrderLine
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def test_the_confirmation_is_queued_as_json_values_and_renders_every_line_and_the_total(customer):
    a = make_product(sku="ANV-1", name="Anvil & Co", price="19.99", stock=10)
    b = make_product(sku="BLT-2", name="Bolt", price="0.35", stock=10)
    order = services.order_place(customer=customer, draft=OrderDraft((DraftLine(a.id, 2), DraftLine(b.id, 3)))).order

    email = OutboxEmail.objects.get(kind="order_confirmation")
    assert email.subject == f"Your Stockroom order {order.id} is confirmed"
    assert email.context == order_email_context(order, list(OrderLine.objects.filter(order=order).order_by("position")))
    assert email.context["order"] == {
        "id": str(order.id), "subtotal": "41.03", "discount": "0.00", "total": "41.03", "coupon_code": "",
    }  # fmt: skip
    assert order.total == Decimal("41.03")

    outbox_render(email)
    text = email.body_text.splitlines()
    for sku, name, quantity, unit, total in (
        ("ANV-1", "Anvil & Co", "2", "19.99", "39.98"),
        ("BLT-2", "Bolt", "3", "0.35", "1.05"),
    ):
        (line,) = [t for t in text if sku in t]
        assert all(part in line for part in (name, quantity, unit, total)), line
    assert any(t.startswith("Total") and "41.03" in t for t in text)
    assert "Anvil &amp; Co" in email.body_html and "41.03" in email.body_html  # HTML is escaped


def test_a_delivered_email_keeps_the_bodies_it_sent(customer, mailoutbox, django_capture_on_commit_callbacks):
    product = make_product(sku="NUT-3", price="1.00", stock=5)
    with django_capture_on_commit_callbacks(execute=True):
        services.order_place(customer=customer, draft=OrderDraft((DraftLine(product.id, 1),)))
    email = OutboxEmail.objects.get(kind="order_confirmation")
    assert email.status == "sent"
    assert "NUT-3" in email.body_text and "NUT-3" in email.body_html
    assert [m.body for m in mailoutbox] == [email.body_text]
    sent = email.body_text
    email.context = {**email.context, "customer_name": "Someone Else"}
    outbox_render(email)  # the admin shows what was sent, not a new rendering
    assert email.body_text == sent

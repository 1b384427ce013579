"""An order's timeline: one append-only event per change, written in the
transaction that makes it, by every path (API, admin action, command), read
in one query; staff add notes, which customers do not see."""

from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from orders.domain.placement import DraftLine, OrderDraft
from orders.models import Order, OrderEvent
from orders.services import order_place
from tests.factories import UserFactory, make_product
from users.models import User

pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/orders/"


def events_url(order_id: int) -> str:
    return f"{ORDERS}{order_id}/events/"


def place(customer: User, quantity: int = 1) -> Order:
    return order_place(customer=customer, draft=OrderDraft((DraftLine(make_product(stock=10).id, quantity),))).order


def timeline(client: APIClient, order_id: int) -> list[dict[str, Any]]:
    r = client.get(events_url(order_id))
    assert r.status_code == 200, r.content
    return list(r.json())


def steps(events: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None, int | None]]:
    return [(e["type"], e["from_status"], e["to_status"], (e["actor"] or {}).get("id")) for e in events]


def test_placing_an_order_through_the_api_writes_its_placed_event(customer_api, customer):
    product = make_product(stock=5)
    r = customer_api.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": 2}]}, format="json")
    assert r.status_code == 201, r.content

    (event,) = timeline(customer_api, r.json()["id"])
    assert steps([event]) == [("placed", None, "pending", customer.id)]
    assert event["actor"] == {"id": customer.id, "email": customer.email}
    assert event["note"] is None and event["created_at"].endswith("Z")


def test_every_status_change_by_the_api_is_on_the_timeline_in_order(customer_api, staff_api, customer, staff):
    order = place(customer)
    for target in ("paid", "shipped", "delivered"):
        assert staff_api.post(f"{ORDERS}{order.id}/transition/", {"status": target}).status_code == 200
    cancelled = place(customer)
    assert customer_api.post(f"{ORDERS}{cancelled.id}/cancel/").status_code == 200

    assert steps(timeline(customer_api, order.id)) == [
        ("placed", None, "pending", customer.id),
        ("status_changed", "pending", "paid", staff.id),
        ("status_changed", "paid", "shipped", staff.id),
        ("status_changed", "shipped", "delivered", staff.id),
    ]
    assert steps(timeline(customer_api, cancelled.id))[-1] == ("status_changed", "pending", "cancelled", customer.id)


def test_an_admin_action_writes_the_event_with_the_staff_member(client, customer, staff_api):
    admin = UserFactory.create(is_staff=True, is_superuser=True)
    client.force_login(admin)
    order = place(customer)
    r = client.post("/admin/orders/order/", {"action": "mark_paid", "_selected_action": [order.id]}, follow=True)
    assert r.status_code == 200

    assert steps(timeline(staff_api, order.id))[-1] == ("status_changed", "pending", "paid", admin.id)


def test_the_demo_command_leaves_every_status_change_on_the_timeline(staff_api):
    call_command("seed_demo", verbosity=0)
    for order in Order.objects.exclude(status="pending"):
        changes = order.events.filter(type=OrderEvent.Type.STATUS_CHANGED).order_by("created_at", "id")
        assert changes.exists(), order
        assert changes.last().to_status == order.status
    assert not Order.objects.exclude(events__type=OrderEvent.Type.PLACED).exists()


def test_a_refused_change_writes_no_event(customer_api, customer):
    order = place(customer)
    assert customer_api.post(f"{ORDERS}{order.id}/cancel/").status_code == 200
    assert customer_api.post(f"{ORDERS}{order.id}/cancel/").status_code == 409
    assert [e["type"] for e in timeline(customer_api, order.id)] == ["placed", "status_changed"]


def test_staff_add_notes_which_the_customer_does_not_see(customer_api, staff_api, customer, staff):
    order = place(customer)
    r = staff_api.post(events_url(order.id), {"note": "  Called the customer: will pay today.  "}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["type"] == "note" and r.json()["note"] == "Called the customer: will pay today."
    assert r.json()["actor"] == {"id": staff.id, "email": staff.email}
    assert r.json()["from_status"] is None and r.json()["to_status"] is None

    assert [e["type"] for e in timeline(staff_api, order.id)] == ["placed", "note"]
    assert [e["type"] for e in timeline(customer_api, order.id)] == ["placed"]


@pytest.mark.parametrize(
    "body", [{}, {"note": ""}, {"note": "   "}, {"note": "x" * 2001}, {"note": ["a"]}, {"note": "ok", "type": "placed"}]
)
def test_a_bad_note_is_a_400_and_writes_nothing(staff_api, customer, body):
    order = place(customer)
    r = staff_api.post(events_url(order.id), body, format="json")
    assert r.status_code == 400, r.content
    assert r.json()["type"] == "validation_error"
    assert OrderEvent.objects.filter(order=order).count() == 1


def test_a_note_of_2000_characters_is_taken(staff_api, customer):
    order = place(customer)
    assert staff_api.post(events_url(order.id), {"note": "x" * 2000}, format="json").status_code == 201


def test_customers_may_not_add_notes_nor_read_another_customers_timeline(customer_api, other_api, customer):
    order = place(customer)
    assert customer_api.post(events_url(order.id), {"note": "mine"}, format="json").status_code == 403
    assert other_api.get(events_url(order.id)).status_code == 404
    assert APIClient().get(events_url(order.id)).status_code == 401
    assert OrderEvent.objects.filter(order=order).count() == 1


def test_an_unknown_order_has_no_timeline(staff_api):
    assert staff_api.get(events_url(987654)).status_code == 404
    assert staff_api.post(events_url(987654), {"note": "x"}, format="json").status_code == 404


def test_the_timeline_is_one_query_however_long(staff_api, customer, staff):
    order = place(customer)
    for n in range(15):
        staff_api.post(events_url(order.id), {"note": f"note {n}"}, format="json")
    staff_api.get(events_url(order.id))  # the JWT's user warmed like any request
    with CaptureQueriesContext(connection) as queries:
        assert len(timeline(staff_api, order.id)) == 16
    event_queries = [q["sql"] for q in queries.captured_queries if "orders_orderevent" in q["sql"]]
    assert len(event_queries) == 1
    assert len(queries.captured_queries) <= 2  # the JWT's user, the timeline


def test_events_are_append_only(customer):
    event = place(customer).events.get()
    event.note = "rewritten"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()


class _FormFields(HTMLParser):
    """The fields a browser would submit from the page's main form."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        name = named.get("name")
        if tag == "input" and name and "__prefix__" not in name and named.get("type") not in ("submit", "checkbox"):
            self.fields[name] = named.get("value") or ""
        elif tag == "textarea" and name and "__prefix__" not in name:  # not the template of an added form
            self._textarea, self.fields[name] = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None


def change_form(client: Any, url: str) -> dict[str, str]:
    page = client.get(url)
    assert page.status_code == 200
    parser = _FormFields()
    parser.feed(page.content.decode())
    return parser.fields


def test_staff_add_a_note_in_the_admin_under_the_read_only_timeline(client, customer, staff_api):
    admin = UserFactory.create(is_staff=True, is_superuser=True)
    client.force_login(admin)
    order = place(customer)
    client.post("/admin/orders/order/", {"action": "mark_paid", "_selected_action": [order.id]})
    url = f"/admin/orders/order/{order.id}/change/"
    fields = change_form(client, url)
    (note_field,) = [name for name in fields if name.endswith("-note")]
    assert not [name for name in fields if name.endswith("-to_status")]  # the timeline is not editable

    fields[note_field] = "Customer asked to ship with the next batch."
    r = client.post(url, fields, follow=True)
    assert r.status_code == 200

    assert steps(timeline(staff_api, order.id)) == [
        ("placed", None, "pending", customer.id),
        ("status_changed", "pending", "paid", admin.id),
        ("note", None, None, admin.id),
    ]
    assert timeline(staff_api, order.id)[-1]["note"] == "Customer asked to ship with the next batch."
    assert Order.objects.get(id=order.id).status == "paid"  # saving the page changed nothing else
    page = client.get(url)
    assert b"Customer asked to ship with the next batch." in page.content


def test_a_staff_member_who_may_only_view_orders_gets_no_note_form(client, customer):
    from django.contrib.auth.models import Permission

    viewer = UserFactory.create(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)
    order = place(customer)
    fields = change_form(client, f"/admin/orders/order/{order.id}/change/")
    assert not [name for name in fields if name.endswith("-note")]

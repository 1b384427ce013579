"""HTTP contract of /api/v1/coupons/: staff CRUD, and times_used that never drifts."""

from decimal import Decimal

import pytest

from orders.models import Coupon
from tests.factories import make_product
from tests.orders.helpers import COUPONS, errors, order_url, place

pytestmark = pytest.mark.django_db

COUPON_KEYS = {
    "id",
    "code",
    "percent_off",
    "amount_off",
    "valid_from",
    "valid_until",
    "max_uses",
    "times_used",
    "is_active",
}


def coupon_url(coupon_id: int) -> str:
    return f"{COUPONS}{coupon_id}/"


def attrs(r) -> list[str | None]:
    return [attr for _, attr in errors(r)]


def create(api, **body):
    return api.post(COUPONS, body, format="json")


# --- POST ---------------------------------------------------------------------------


def test_coupon_create_with_percent_off(staff_api):
    r = create(staff_api, code="SPRING15", percent_off="15", valid_from="2026-03-01T00:00:00Z", max_uses=50)

    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == COUPON_KEYS
    assert body["code"] == "SPRING15"
    assert (body["percent_off"], body["amount_off"]) == ("15.00", None)
    assert body["valid_from"] == "2026-03-01T00:00:00Z"
    assert body["valid_until"] is None
    assert (body["max_uses"], body["times_used"], body["is_active"]) == (50, 0, True)
    assert staff_api.get(coupon_url(body["id"])).json() == body


def test_coupon_create_with_amount_off(staff_api):
    r = create(staff_api, code="FIVE", amount_off="5.00", is_active=False)
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["percent_off"], body["amount_off"], body["is_active"], body["max_uses"]) == (None, "5.00", False, None)


@pytest.mark.parametrize("percent", ["0.01", "100", "100.00"])
def test_coupon_create_accepts_percent_in_0_exclusive_to_100(staff_api, percent):
    assert create(staff_api, code="P", percent_off=percent).status_code == 201


@pytest.mark.parametrize(
    ("body", "allowed_attrs"),
    [
        ({}, {"percent_off", "amount_off", None}),
        ({"percent_off": "10", "amount_off": "5.00"}, {"percent_off", "amount_off", None}),
        ({"percent_off": None, "amount_off": None}, {"percent_off", "amount_off", None}),
        ({"percent_off": "0"}, {"percent_off"}),
        ({"percent_off": "-5"}, {"percent_off"}),
        ({"percent_off": "100.01"}, {"percent_off"}),
        ({"amount_off": "0"}, {"amount_off"}),
        ({"amount_off": "-1.00"}, {"amount_off"}),
        ({"amount_off": "abc"}, {"amount_off"}),
    ],
)
def test_coupon_create_needs_exactly_one_discount_in_range(staff_api, body, allowed_attrs):
    r = create(staff_api, code="BAD", **body)
    assert r.status_code == 400, r.content
    assert r.json()["type"] == "validation_error"
    assert set(attrs(r)) <= allowed_attrs
    assert not Coupon.objects.exists()


@pytest.mark.parametrize("code", ["WELCOME", "welcome", "WeLcOmE"])
def test_coupon_create_refuses_a_duplicate_code_in_any_case(staff_api, code):
    assert create(staff_api, code="Welcome", percent_off="5").status_code == 201
    r = create(staff_api, code=code, amount_off="1.00")
    assert r.status_code == 400
    assert attrs(r) == ["code"]
    assert Coupon.objects.count() == 1


@pytest.mark.parametrize("until", ["2026-02-28T23:59:59Z", "2026-03-01T00:00:00Z"])
def test_coupon_create_refuses_valid_until_not_after_valid_from(staff_api, until):
    r = create(staff_api, code="WIN", percent_off="5", valid_from="2026-03-01T00:00:00Z", valid_until=until)
    assert r.status_code == 400
    assert attrs(r) == ["valid_until"]
    assert not Coupon.objects.exists()


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"code": "TIMES", "percent_off": "5", "times_used": 3}, "times_used"),
        ({"code": "has space", "percent_off": "5"}, "code"),
        ({"percent_off": "5"}, "code"),
        ({"code": "MAX", "percent_off": "5", "max_uses": 0}, "max_uses"),
    ],
)
def test_coupon_create_refuses_bad_fields_on_their_attr(staff_api, body, attr):
    r = staff_api.post(COUPONS, body, format="json")
    assert r.status_code == 400
    assert attrs(r) == [attr]


ABSURD = ["NaN", "sNaN", "Infinity", "-Infinity", "1e1001", "-1e1001", "1e-1001", "1" * 60, "0." + "1" * 60]


@pytest.mark.parametrize("value", ABSURD)
@pytest.mark.parametrize("field", ["percent_off", "amount_off", "max_uses"])
def test_coupon_create_and_patch_refuse_absurd_numbers_with_400_on_their_attr(staff_api, field, value):
    base = {} if field != "max_uses" else {"percent_off": "5"}
    r = create(staff_api, code="ABSURD", **base, **{field: value})
    assert r.status_code == 400, r.content
    assert set(attrs(r)) == {field}
    coupon = Coupon.objects.create(code="KEPT", percent_off=Decimal("5"))
    r = staff_api.patch(coupon_url(coupon.id), {field: value}, format="json")
    assert r.status_code == 400, r.content
    assert set(attrs(r)) == {field}
    assert Coupon.objects.get().code == "KEPT"


@pytest.mark.parametrize(
    ("number", "attr"),
    [
        ("1e1001", "field"),
        ("-1e1001", "field"),
        ("1e-1001", "field"),
        ("1" * 60, "field"),
        ("1" * 5000, None),  # past Python's int conversion limit: the body does not parse
        ("NaN", None),  # not JSON
        ("-Infinity", None),
    ],
)
@pytest.mark.parametrize("field", ["percent_off", "amount_off", "max_uses"])
def test_coupon_create_refuses_absurd_json_numbers_with_400(staff_api, field, number, attr):
    r = staff_api.post(COUPONS, f'{{"code": "RAW", "{field}": {number}}}', content_type="application/json")
    assert r.status_code == 400, r.content
    assert attrs(r) == [field if attr else None]
    assert not Coupon.objects.exists()


# --- GET ----------------------------------------------------------------------------


def test_coupon_list_is_a_page_with_count(staff_api):
    ids = [create(staff_api, code=f"C{i}", percent_off="5").json()["id"] for i in range(3)]

    r = staff_api.get(COUPONS, {"page_size": 2})

    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert len(body["results"]) == 2 and body["previous"] is None and body["next"]
    rest = staff_api.get(body["next"]).json()
    assert sorted(c["id"] for c in body["results"] + rest["results"]) == sorted(ids)
    assert set(body["results"][0]) == COUPON_KEYS


def test_coupon_retrieve_missing_is_404(staff_api):
    r = staff_api.get(coupon_url(999999))
    assert r.status_code == 404
    assert errors(r) == [("not_found", None)]


# --- PATCH ----------------------------------------------------------------------------


def test_coupon_patch_changes_only_what_it_names(staff_api):
    created = create(staff_api, code="PATCHME", percent_off="5", max_uses=10).json()

    r = staff_api.patch(coupon_url(created["id"]), {"is_active": False, "max_uses": 20}, format="json")

    assert r.status_code == 200, r.content
    assert r.json() == {**created, "is_active": False, "max_uses": 20}
    assert staff_api.get(coupon_url(created["id"])).json() == r.json()


def test_coupon_patch_can_switch_from_percent_to_amount(staff_api):
    created = create(staff_api, code="SWITCH", percent_off="5").json()
    r = staff_api.patch(coupon_url(created["id"]), {"percent_off": None, "amount_off": "2.50"}, format="json")
    assert r.status_code == 200, r.content
    assert (r.json()["percent_off"], r.json()["amount_off"]) == (None, "2.50")


def test_coupon_patch_refuses_two_discounts(staff_api):
    created = create(staff_api, code="TWO", percent_off="5").json()
    r = staff_api.patch(coupon_url(created["id"]), {"amount_off": "2.50"}, format="json")
    assert r.status_code == 400
    assert staff_api.get(coupon_url(created["id"])).json() == created


def test_coupon_patch_refuses_max_uses_below_times_used(staff_api, customer_api):
    p = make_product(stock=10)
    created = create(staff_api, code="USED", percent_off="5").json()
    for _ in range(3):
        assert place(customer_api, (p, 1), coupon="USED").status_code == 201

    r = staff_api.patch(coupon_url(created["id"]), {"max_uses": 2}, format="json")
    assert r.status_code == 400
    assert attrs(r) == ["max_uses"]

    r = staff_api.patch(coupon_url(created["id"]), {"max_uses": 3}, format="json")
    assert r.status_code == 200, r.content
    assert (r.json()["max_uses"], r.json()["times_used"]) == (3, 3)


def test_coupon_patch_refuses_a_code_taken_by_another_coupon(staff_api):
    create(staff_api, code="TAKEN", percent_off="5")
    mine = create(staff_api, code="MINE", percent_off="5").json()

    r = staff_api.patch(coupon_url(mine["id"]), {"code": "taken"}, format="json")
    assert r.status_code == 400
    assert attrs(r) == ["code"]
    # Its own code in another case is fine.
    assert staff_api.patch(coupon_url(mine["id"]), {"code": "Mine"}, format="json").json()["code"] == "Mine"


def test_coupon_patch_refuses_a_window_that_ends_before_it_starts(staff_api):
    created = create(staff_api, code="WINDOW", percent_off="5", valid_from="2026-03-01T00:00:00Z").json()
    r = staff_api.patch(coupon_url(created["id"]), {"valid_until": "2026-02-01T00:00:00Z"}, format="json")
    assert r.status_code == 400
    assert attrs(r) == ["valid_until"]


def test_coupon_patch_refuses_times_used(staff_api):
    created = create(staff_api, code="RO", percent_off="5").json()
    r = staff_api.patch(coupon_url(created["id"]), {"times_used": 7}, format="json")
    assert r.status_code == 400
    assert attrs(r) == ["times_used"]
    assert staff_api.get(coupon_url(created["id"])).json()["times_used"] == 0


# --- DELETE, PUT --------------------------------------------------------------------------


def test_coupon_delete_is_204_and_orders_keep_its_code(staff_api, customer_api):
    p = make_product(price="10.00", stock=10)
    created = create(staff_api, code="GONE", percent_off="10").json()
    order = place(customer_api, (p, 1), coupon="GONE").json()

    r = staff_api.delete(coupon_url(created["id"]))

    assert r.status_code == 204
    assert r.content == b""
    assert staff_api.get(coupon_url(created["id"])).status_code == 404
    body = customer_api.get(order_url(order["id"])).json()
    assert body == order
    assert (body["coupon"], body["discount"]) == ("GONE", "1.00")
    # …and it can still be cancelled.
    assert customer_api.post(order_url(order["id"], "cancel")).json()["coupon"] == "GONE"


def test_coupon_put_is_405(staff_api):
    created = create(staff_api, code="PUT", percent_off="5").json()
    r = staff_api.put(coupon_url(created["id"]), {**created, "percent_off": "6"}, format="json")
    assert r.status_code == 405
    assert errors(r) == [("method_not_allowed", None)]
    assert staff_api.get(coupon_url(created["id"])).json()["percent_off"] == "5.00"


# --- Who ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "list", None),
        ("post", "list", {"code": "X", "percent_off": "5"}),
        ("get", "detail", None),
        ("patch", "detail", {"is_active": False}),
        ("delete", "detail", None),
    ],
)
def test_coupons_are_staff_only(customer_api, anon, method, path, body):
    coupon = Coupon.objects.create(code="STAFFONLY", percent_off=Decimal(5))
    url = COUPONS if path == "list" else coupon_url(coupon.id)

    r = getattr(customer_api, method)(url, body, format="json")
    assert r.status_code == 403
    assert errors(r) == [("permission_denied", None)]

    r = getattr(anon, method)(url, body, format="json")
    assert r.status_code == 401
    assert errors(r) == [("not_authenticated", None)]

    coupon.refresh_from_db()
    assert (coupon.code, coupon.is_active) == ("STAFFONLY", True)
    assert Coupon.objects.count() == 1


# --- times_used -----------------------------------------------------------------------------


def test_coupon_times_used_counts_orders_that_are_not_cancelled(staff_api, customer_api, other_api):
    p = make_product(stock=10)
    created = create(staff_api, code="COUNT", percent_off="5").json()
    ids = [place(api, (p, 1), coupon="count").json()["id"] for api in (customer_api, other_api, customer_api)]
    assert staff_api.get(coupon_url(created["id"])).json()["times_used"] == 3

    assert customer_api.post(order_url(ids[0], "cancel")).status_code == 200
    assert staff_api.get(coupon_url(created["id"])).json()["times_used"] == 2

    assert staff_api.post(order_url(ids[1], "transition"), {"status": "cancelled"}).status_code == 200
    assert customer_api.post(order_url(ids[0], "cancel")).status_code == 409  # no double give-back
    assert staff_api.get(coupon_url(created["id"])).json()["times_used"] == 1

    for target in ("paid", "shipped", "delivered"):  # moving along keeps the use
        staff_api.post(order_url(ids[2], "transition"), {"status": target})
    assert staff_api.get(coupon_url(created["id"])).json()["times_used"] == 1


def test_coupon_times_used_is_not_taken_by_a_refused_order(staff_api, customer_api):
    p = make_product(stock=1)
    created = create(staff_api, code="KEEP", percent_off="5").json()
    assert place(customer_api, (p, 5), coupon="KEEP").status_code == 409
    assert staff_api.get(coupon_url(created["id"])).json()["times_used"] == 0


def test_coupon_ids_beyond_the_database_range_are_404(staff_api):
    assert staff_api.get(coupon_url(int("9" * 25))).status_code == 404
    assert staff_api.delete(coupon_url(int("9" * 25))).status_code == 404

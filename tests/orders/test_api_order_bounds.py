"""Numbers that cannot overflow, through the API: prices, quantities and line
counts driven to their bounds (Hypothesis). No answer is a 500, an order that
does not fit is refused exactly as the pure rules say, and every order that
is placed reads back (detail and list) with the totals the pure pricing
gives. Runs on the suite's database: SQLite by default, PostgreSQL when
DATABASE_URL is set (CI runs both)."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from config.platform import ratelimit
from inventory.domain.bounds import MAX_PRICE
from inventory.models import Product, StockMovement
from orders.domain.placement import MAX_LINES, MAX_QUANTITY, DraftLine, OrderDraft, ProductSnapshot, validate_order
from orders.domain.pricing import CouponTerms, PricedOrder, price_order
from orders.errors import OrderRejected
from orders.models import Coupon, Order
from tests.orders.helpers import ORDERS, errors, order_url

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
PRICE_COLUMN_MAX = Decimal("9999999999.99")  # what Product.price (NUMERIC(12, 2)) holds: prices from before the bound


@dataclass(frozen=True)
class Scenario:
    lines: tuple[tuple[Decimal, int], ...]  # (price, quantity), one distinct product each
    percent_off: Decimal | None = None
    amount_off: Decimal | None = None


def edges_and(values: st.SearchStrategy, *edges: object) -> st.SearchStrategy:
    """``values``, with its edges drawn as often as everything else."""
    return st.one_of(st.sampled_from(edges), values)


prices = edges_and(st.decimals(0, MAX_PRICE, places=2), Decimal("0.00"), CENT, MAX_PRICE)
legacy_prices = edges_and(st.decimals(MAX_PRICE + CENT, PRICE_COLUMN_MAX, places=2), MAX_PRICE + CENT, PRICE_COLUMN_MAX)
quantities = edges_and(st.integers(1, MAX_QUANTITY), 1, MAX_QUANTITY)
line_counts = edges_and(st.integers(1, MAX_LINES), 1, MAX_LINES)
percents = edges_and(st.decimals(CENT, 100, places=2), CENT, Decimal(100))
amounts = edges_and(st.decimals(CENT, PRICE_COLUMN_MAX, places=2), CENT, PRICE_COLUMN_MAX)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    count = draw(line_counts)
    # Most orders are of products within the bound; some mix in products
    # priced above it from before the bound (written straight to the table).
    line_prices = st.one_of(prices, legacy_prices) if draw(st.booleans()) else prices
    lines = tuple(draw(st.tuples(line_prices, quantities)) for _ in range(count))
    coupon = draw(st.sampled_from(["none", "percent", "amount"]))
    return Scenario(
        lines=lines,
        percent_off=draw(percents) if coupon == "percent" else None,
        amount_off=draw(amounts) if coupon == "amount" else None,
    )


def products_for(scenario: Scenario) -> list[Product]:
    """One product per line with exactly the stock the line takes, its
    initial stock on the ledger; written in two statements, not through the
    API (whose price bound the older rows predate)."""
    products = Product.objects.bulk_create(
        Product(sku=f"B-{i}", name=f"Bounded {i}", price=price, stock=quantity)
        for i, (price, quantity) in enumerate(scenario.lines)
    )
    StockMovement.objects.bulk_create(
        StockMovement(product=p, delta=p.stock, balance_after=p.stock, reason="initial stock") for p in products
    )
    return products


def pure_pricing(scenario: Scenario, products: list[Product], coupon: Coupon | None) -> PricedOrder:
    """What orders.domain says the order is, or raises OrderRejected."""
    draft = OrderDraft(
        tuple(DraftLine(p.id, q) for p, (_, q) in zip(products, scenario.lines, strict=True)),
        coupon=coupon.code if coupon else None,
    )
    catalog = {p.id: ProductSnapshot(p.id, p.sku, p.name, p.price, p.is_active) for p in products}
    terms = None
    if coupon is not None:
        terms = CouponTerms(coupon.code, coupon.percent_off, coupon.amount_off, None, None, None, 0, True)
    return price_order(validate_order(draft, catalog), terms, now=timezone.now())


def cents(value: Decimal) -> str:
    return f"{value:.2f}"


def as_the_api_shows(priced: PricedOrder) -> dict[str, object]:
    return {
        "lines": [
            {
                "product_id": line.product_id,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": cents(line.unit_price),
                "line_total": cents(line.line_total),
                "returned_quantity": 0,
            }
            for line in priced.lines
        ],
        "subtotal": cents(priced.subtotal),
        "discount": cents(priced.discount),
        "total": cents(priced.total),
        "coupon": priced.coupon,
    }


def check_scenario(api: APIClient, scenario: Scenario) -> None:
    products = products_for(scenario)
    coupon = None
    if scenario.percent_off is not None or scenario.amount_off is not None:
        coupon = Coupon.objects.create(code="BOUND", percent_off=scenario.percent_off, amount_off=scenario.amount_off)
    body: dict[str, object] = {
        "lines": [{"product_id": p.id, "quantity": q} for p, (_, q) in zip(products, scenario.lines, strict=True)]
    }
    if coupon is not None:
        body["coupon"] = coupon.code

    r = api.post(ORDERS, body, format="json")

    try:
        expected = pure_pricing(scenario, products, coupon)
    except OrderRejected as rejected:
        event("refused: does not fit")
        assert r.status_code == 400, r.content
        assert errors(r) == [(p.code, p.attr) for p in rejected.problems]
        assert not Order.objects.exists()
        assert [p.stock for p in Product.objects.order_by("id")] == [q for _, q in scenario.lines]
        return
    event("placed")
    assert r.status_code == 201, r.content
    placed = r.json()
    assert {k: placed[k] for k in ("lines", "subtotal", "discount", "total", "coupon")} == as_the_api_shows(expected)
    # Read back from the database: the detail and the list give the order as placed.
    detail = api.get(order_url(placed["id"]))
    assert detail.status_code == 200, detail.content
    assert detail.json() == placed
    listed = api.get(ORDERS)
    assert listed.status_code == 200, listed.content
    assert listed.json()["results"] == [placed]


LARGEST = Scenario(lines=((MAX_PRICE, MAX_QUANTITY),) * MAX_LINES)  # 99,999,999,000.00: fits
AT_THE_COLUMNS = Scenario(lines=((PRICE_COLUMN_MAX, 100), (Decimal("0.99"), 1)), amount_off=CENT)  # 999,999,999,999.99
ONE_LINE_TOO_BIG = Scenario(lines=((PRICE_COLUMN_MAX, MAX_QUANTITY),))  # the 500 of issue 18
# 1,000,000,000,000.00: each line fits, their sum does not.
SUBTOTAL_TOO_BIG = Scenario(lines=((PRICE_COLUMN_MAX, 100), (Decimal("1.00"), 1)), percent_off=Decimal(100))


@settings(
    max_examples=40,
    deadline=None,
    # Each example runs in a transaction of its own that is rolled back, and
    # the rate limits are reset for it: the fixtures carry nothing across.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@example(scenario=LARGEST)
@example(scenario=AT_THE_COLUMNS)
@example(scenario=ONE_LINE_TOO_BIG)
@example(scenario=SUBTOTAL_TOO_BIG)
@given(scenario=scenarios())
def test_orders_at_the_bounds_never_500_and_read_back_as_the_pure_pricing_says(customer_api, scenario):
    ratelimit.store().clear()  # RATE_LIMIT_ORDERS counts per user, and every example is the same user
    with transaction.atomic():
        check_scenario(customer_api, scenario)
        transaction.set_rollback(True)

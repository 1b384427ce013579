"""Writes of orders and coupons: one function per use case.

Placing an order is a pipeline: ``validate_order`` and ``price_order`` are
pure (orders.domain); :func:`order_place` is the one side-effecting step.
Lock order, everywhere: product rows (by id), then the coupon row, so two
transactions never wait on each other in a cycle.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.db import bulk
from config.domain_errors import Problem
from config.platform import metrics, read_cache
from inventory.domain.ledger import StockChange
from inventory.services import products_lock, stock_apply_locked, stock_move
from orders import idempotency
from orders.domain.placement import OrderDraft, ProductSnapshot, validate_order
from orders.domain.pricing import CouponTerms, price_order
from orders.domain.status import Status, check_transition
from orders.emails import order_email_enqueue
from orders.errors import OrderRejected
from orders.models import Coupon, Order, OrderLine
from users.models import User

# The read cache's namespace for reports over orders (top customers):
# placing or cancelling an order marks it changed.
ORDERS = "orders"
REPORT_TTL = 30


def _lock_coupon(code: str) -> Coupon:
    """Lock the coupon named ``code`` (any case). The caller holds the transaction."""
    coupon = Coupon.objects.select_for_update().filter(code__iexact=code).first()
    if coupon is None:
        raise OrderRejected(Problem("coupon_not_found", "No such coupon.", "coupon"))
    return coupon


def _terms(coupon: Coupon) -> CouponTerms:
    return CouponTerms(
        code=coupon.code,
        percent_off=coupon.percent_off,
        amount_off=coupon.amount_off,
        valid_from=coupon.valid_from,
        valid_until=coupon.valid_until,
        max_uses=coupon.max_uses,
        times_used=coupon.times_used,
        is_active=coupon.is_active,
    )


@dataclass(frozen=True)
class PlacedOrder:
    """An order just placed, with its lines as written (in position order):
    what the caller renders, without reading the lines back."""

    order: Order
    lines: list[OrderLine]


@transaction.atomic
def order_place(*, customer: User, draft: OrderDraft) -> PlacedOrder:
    """Place an order: take its stock and one coupon use, all or nothing.

    Locks the products (one query, id order), then the coupon; checks and
    prices the draft against what it locked; then, in one unit of work
    (:func:`config.db.bulk.writes_gathered`: one statement on PostgreSQL),
    writes the order, takes the stock through the inventory ledger
    (movements carry the order id), writes the lines and puts the
    confirmation email in the outbox, which publishes it after commit.
    The number of queries does not grow with the number of lines.
    """
    locked = products_lock(line.product_id for line in draft.lines)
    catalog = {
        pid: ProductSnapshot(p["id"], p["sku"], p["name"], p["price"], p["is_active"]) for pid, p in locked.items()
    }
    valid = validate_order(draft, catalog)
    coupon = _lock_coupon(valid.coupon) if valid.coupon else None
    priced = price_order(valid, _terms(coupon) if coupon else None, now=timezone.now())

    with bulk.writes_gathered():
        # The stock movements, the lines and the email name the order: its key first.
        (order,) = bulk.insert(
            [
                Order(
                    customer=customer,
                    subtotal=priced.subtotal,
                    discount=priced.discount,
                    total=priced.total,
                    coupon=coupon,
                    coupon_code=priced.coupon,
                )
            ],
            keys_now=True,
        )
        stock_apply_locked(
            locked=locked,
            changes=[StockChange(line.product_id, -line.quantity, attr=line.attr) for line in priced.lines],
            reason=f"order {order.id} placed",
            created_by_id=customer.id,
            order_id=order.id,
        )
        lines = bulk.insert(
            [
                OrderLine(
                    order=order,
                    position=position,
                    product_id=line.product_id,
                    sku=line.sku,
                    name=line.name,
                    unit_price=line.unit_price,
                    quantity=line.quantity,
                    line_total=line.line_total,
                )
                for position, line in enumerate(priced.lines)
            ]
        )
        order_email_enqueue(order=order, lines=lines, kind="confirmation")
    if coupon is not None:
        Coupon.objects.filter(id=coupon.id).update(times_used=F("times_used") + 1)
    read_cache.changed(ORDERS)
    transaction.on_commit(metrics.ORDERS_PLACED.inc)
    return PlacedOrder(order, lines)


@transaction.atomic
def order_place_idempotent(
    *, customer: User, draft: OrderDraft, key: str, request_body: Any, render: Callable[[PlacedOrder], Any]
) -> tuple[idempotency.StoredResponse, bool]:
    """:func:`order_place` guarded by an Idempotency-Key.

    Returns the response and whether it is a replay. The key is claimed in
    this transaction, so it is stored only if the order is.
    """
    claim = idempotency.idempotency_claim(user=customer, key=key, fingerprint=idempotency.fingerprint(request_body))
    if isinstance(claim, idempotency.StoredResponse):
        return claim, True
    placed = order_place(customer=customer, draft=draft)
    response = idempotency.StoredResponse(201, render(placed))
    idempotency.idempotency_complete(claim=claim, status=response.status, body=response.body)
    return response, False


@transaction.atomic
def order_transition(*, order_id: int, target: Status, actor: User, attr: str | None = "status") -> Order:
    """Move an order along the status machine.

    Locks the order row first, so two moves of one order are serialised.
    A move to cancelled gives the stock back through the ledger (movements
    carry the order id and the actor) and the coupon use back, in this
    transaction, and queues the cancellation notice after commit. A refused
    move is reported on ``attr``: the input that asked for it, if any.
    """
    order = Order.objects.select_for_update(of=("self",)).select_related("customer").get(id=order_id)
    check_transition(Status(order.status), target, attr=attr)
    if target is Status.CANCELLED:
        lines = list(order.lines.all())
        stock_move(
            changes=[StockChange(line.product_id, line.quantity) for line in lines],
            reason=f"order {order.id} cancelled",
            created_by_id=actor.id,
            order_id=order.id,
        )
        if order.coupon_id is not None:
            Coupon.objects.filter(id=order.coupon_id, times_used__gt=0).update(times_used=F("times_used") - 1)
        order_email_enqueue(order=order, lines=lines, kind="cancellation")
        read_cache.changed(ORDERS)
        transaction.on_commit(metrics.ORDERS_CANCELLED.inc)
    order.status = target.value
    order.save(update_fields=["status", "updated_at"])
    return order


def order_cancel(*, order_id: int, actor: User) -> Order:
    # Cancel takes no input, so a refusal names no attr.
    return order_transition(order_id=order_id, target=Status.CANCELLED, actor=actor, attr=None)


# --- Coupons -------------------------------------------------------------------

COUPON_FIELDS = {"code", "percent_off", "amount_off", "valid_from", "valid_until", "max_uses", "is_active"}


def coupon_problems(coupon: Coupon) -> list[Problem]:
    problems = []
    if (coupon.percent_off is None) == (coupon.amount_off is None):
        problems.append(
            Problem("exactly_one_discount", "Give exactly one of percent_off and amount_off.", "percent_off")
        )
    if coupon.percent_off is not None and not Decimal(0) < coupon.percent_off <= Decimal(100):
        problems.append(Problem("out_of_range", "percent_off must be in (0, 100].", "percent_off"))
    if coupon.amount_off is not None and coupon.amount_off <= 0:
        problems.append(Problem("out_of_range", "amount_off must be greater than 0.", "amount_off"))
    if coupon.valid_from and coupon.valid_until and coupon.valid_from >= coupon.valid_until:
        problems.append(Problem("invalid_window", "valid_until must be after valid_from.", "valid_until"))
    if coupon.max_uses is not None and coupon.max_uses < coupon.times_used:
        problems.append(
            Problem("below_times_used", f"This coupon has been used {coupon.times_used} times already.", "max_uses")
        )
    taken = Coupon.objects.filter(code__iexact=coupon.code).exclude(id=coupon.id).exists()
    if taken:
        problems.append(Problem("unique", "A coupon with this code already exists.", "code"))
    return problems


def _coupon_save(coupon: Coupon) -> Coupon:
    if problems := coupon_problems(coupon):
        raise OrderRejected(tuple(problems))
    try:
        with transaction.atomic():
            coupon.save()
    except IntegrityError:
        raise OrderRejected(Problem("unique", "A coupon with this code already exists.", "code")) from None
    return coupon


@transaction.atomic
def coupon_create(**fields: Any) -> Coupon:
    return _coupon_save(Coupon(**fields))


@transaction.atomic
def coupon_update(*, coupon_id: int, **fields: Any) -> Coupon:
    """Change a coupon. Locks it, so ``times_used`` is read as orders leave it."""
    if unknown := set(fields) - COUPON_FIELDS:
        raise ValueError(f"cannot update {sorted(unknown)}")
    coupon = Coupon.objects.select_for_update().get(id=coupon_id)
    for name, value in fields.items():
        setattr(coupon, name, value)
    return _coupon_save(coupon)


@transaction.atomic
def coupon_delete(*, coupon_id: int) -> None:
    """Delete a coupon. Orders that used it keep its code."""
    Coupon.objects.filter(id=coupon_id).delete()

"""Writes of orders and coupons: one function per use case.

Placing an order is a pipeline: ``validate_order`` and ``price_order`` are
pure (orders.domain); :func:`order_place` is the one side-effecting step.
Lock order, everywhere: product rows (by id), then the coupon row, so two
transactions never wait on each other in a cycle.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.db import bulk
from config.domain_errors import Problem
from config.platform import metrics, read_cache, redis_pipeline
from inventory.domain.ledger import StockChange
from inventory.services import products_lock, stock_apply_locked, stock_move
from orders import idempotency
from orders.domain.expiry import expires_at_for, expires_at_in, is_due
from orders.domain.placement import OrderDraft, ProductSnapshot, validate_order
from orders.domain.pricing import CouponTerms, price_order
from orders.domain.returns import (
    OrderLineSnapshot,
    OrderSnapshot,
    ReturnDraft,
    price_return,
    validate_return,
)
from orders.domain.status import Status, check_requested_transition, check_transition
from orders.emails import EmailKind, order_email_enqueue, order_return_email_enqueue
from orders.errors import OrderRejected
from orders.models import Coupon, Order, OrderEvent, OrderLine, Return, ReturnLine
from orders.webhooks import order_placed_emit, order_return_recorded_emit, order_status_changed_emit
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


@redis_pipeline.gathered()
@transaction.atomic
def order_place(*, customer: User, draft: OrderDraft) -> PlacedOrder:
    """Place an order: take its stock and one coupon use, all or nothing.

    Locks the products (one query, id order), then the coupon; checks and
    prices the draft against what it locked; then, in one unit of work
    (:func:`config.db.bulk.writes_gathered`: one statement on PostgreSQL),
    writes the order, takes the stock through the inventory ledger
    (movements carry the order id), writes the lines, puts the confirmation
    email in the outbox, which publishes it after commit, and reads the
    webhook endpoints; then the ``order.placed`` webhook event, if any
    endpoint subscribes (nothing more when none does). The commands to Redis
    after commit (the read cache's bump, the outbox's drain flag) go in one
    round trip (config.platform.redis_pipeline).
    The number of queries does not grow with the number of lines.
    """
    locked = products_lock(line.product_id for line in draft.lines)
    catalog = {
        pid: ProductSnapshot(p["id"], p["sku"], p["name"], p["price"], p["is_active"]) for pid, p in locked.items()
    }
    valid = validate_order(draft, catalog)
    coupon = _lock_coupon(valid.coupon) if valid.coupon else None
    now = timezone.now()
    priced = price_order(valid, _terms(coupon) if coupon else None, now=now)

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
                    expires_at=expires_at_for(now, settings.ORDER_PAYMENT_MINUTES),
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
        bulk.insert([OrderEvent(order=order, type=OrderEvent.Type.PLACED, to_status=Status.PENDING, actor=customer)])
        order_email_enqueue(order=order, lines=lines, kind="confirmation")
        order_placed_emit(order, lines)
    if coupon is not None:
        Coupon.objects.filter(id=coupon.id).update(times_used=F("times_used") + 1)
    read_cache.changed(ORDERS)
    transaction.on_commit(metrics.ORDERS_PLACED.inc)
    return PlacedOrder(order, lines)


@redis_pipeline.gathered()
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


def _lock_order(order_id: int) -> Order:
    """Lock the order row (with its customer read), so two moves of one order
    are serialised: the second sees what the first made of it."""
    return Order.objects.select_for_update(of=("self",)).select_related("customer").get(id=order_id)


def _give_back(order: Order, *, reason: str, actor: User | None, email: EmailKind) -> None:
    """Give an order's stock back through the ledger (movements carry the
    order id and the actor) and its coupon use back, in the caller's
    transaction, and queue the customer's notice: what a cancel and an
    expiry both do."""
    lines = list(order.lines.all())
    stock_move(
        changes=[StockChange(line.product_id, line.quantity) for line in lines],
        reason=reason,
        created_by_id=actor.id if actor is not None else None,
        order_id=order.id,
    )
    if order.coupon_id is not None:
        Coupon.objects.filter(id=order.coupon_id, times_used__gt=0).update(times_used=F("times_used") - 1)
    order_email_enqueue(order=order, lines=lines, kind=email)
    read_cache.changed(ORDERS)


def _move(order: Order, target: Status, actor: User | None) -> Order:
    """Record ``order``'s move to ``target`` (checked by the caller) on its
    timeline and in its row; ``expires_at`` is kept only while pending."""
    OrderEvent.objects.create(
        order=order, type=OrderEvent.Type.STATUS_CHANGED, from_status=order.status, to_status=target, actor=actor
    )
    order.status = target.value
    order.expires_at = expires_at_in(target, order.expires_at)
    order.save(update_fields=["status", "expires_at", "updated_at"])
    order_status_changed_emit(order)
    return order


@transaction.atomic
def order_transition(*, order_id: int, target: Status, actor: User, attr: str | None = "status") -> Order:
    """Move an order along the status machine, as someone asked.

    Locks the order row first (:func:`_lock_order`). The moves only the
    system makes (to expired, to returned) are refused like any the machine
    forbids. A move to cancelled gives the stock and the coupon use back
    (:func:`_give_back`) and queues the cancellation notice after commit. A
    refused move is reported on ``attr``: the input that asked for it, if any.
    """
    order = _lock_order(order_id)
    check_requested_transition(Status(order.status), target, attr=attr)
    if target is Status.CANCELLED:
        _give_back(order, reason=f"order {order.id} cancelled", actor=actor, email="cancellation")
        transaction.on_commit(metrics.ORDERS_CANCELLED.inc)
    return _move(order, target, actor)


@transaction.atomic
def order_expire(*, order_id: int, now: datetime | None = None) -> Order | None:
    """Expire one unpaid order whose time to pay has run out: its stock and
    coupon use go back exactly as a cancel gives them, the timeline records
    the system's move (no actor), and the customer is told. Locks the order
    first, so an expiry and a concurrent payment or cancel never both
    happen: whichever locks second finds the order no longer due (this
    returns None and changes nothing) or no longer pending (the other is
    refused)."""
    order = _lock_order(order_id)
    if not is_due(Status(order.status), order.expires_at, now or timezone.now()):
        return None
    check_transition(Status(order.status), Status.EXPIRED)
    _give_back(order, reason=f"order {order.id} expired", actor=None, email="expiry")
    transaction.on_commit(metrics.ORDERS_EXPIRED.inc)
    return _move(order, Status.EXPIRED, None)


EXPIRY_BATCH = 500


def orders_expire_due(*, limit: int = EXPIRY_BATCH) -> int:
    """Expire the unpaid orders that are due, oldest deadline first, each in
    its own transaction (:func:`order_expire`); returns how many expired.
    Safe to run twice or on two workers at once: each order is locked and
    checked again before it changes. Finds them by ``order_expiry_due_idx``,
    which holds pending orders only."""
    now = timezone.now()
    due = Order.objects.filter(status=Status.PENDING, expires_at__lte=now).order_by("expires_at", "id")
    return sum(
        order_expire(order_id=order_id, now=now) is not None for order_id in due.values_list("id", flat=True)[:limit]
    )


@transaction.atomic
def order_return_record(*, order_id: int, draft: ReturnDraft, reason: str, actor: User) -> Return:
    """Record units of a delivered order that came back, and their refund.

    Locks the order row first, so concurrent returns of one order are
    serialised and never bring back more than was ordered; checks and prices
    the return against the lines as they are then (orders.domain.returns:
    the refund is cumulative, so an order's refunds add up to exactly its
    total once every unit is back). Restocked units go back through the
    stock ledger (movements carry the order id and the actor). Writes the
    return and its lines, each line's returned quantity, the order's
    refunded total, a ``return_recorded`` event, and — when the last unit is
    back — the move to ``returned`` and its event; queues the customer's
    email with the refund. ``refunded_total`` is a record of what is owed:
    no payment provider is called.
    """
    order = _lock_order(order_id)
    lines = {line.product_id: line for line in order.lines.all()}
    snapshot = OrderSnapshot(
        status=Status(order.status),
        lines=tuple(
            OrderLineSnapshot(line.product_id, line.unit_price, line.quantity, line.returned_quantity)
            for line in lines.values()
        ),
        subtotal=order.subtotal,
        total=order.total,
    )
    priced = price_return(snapshot, validate_return(snapshot, draft))
    if restocked := [StockChange(line.product_id, line.quantity) for line in priced.lines if line.restock]:
        stock_move(changes=restocked, reason=f"order {order.id} returned", created_by_id=actor.id, order_id=order.id)
    record = Return.objects.create(order=order, refund_total=priced.refund_total, reason=reason, created_by=actor)
    record_lines = bulk.insert(
        [
            ReturnLine(
                order_return=record,
                position=position,
                product_id=line.product_id,
                quantity=line.quantity,
                restock=line.restock,
                refund_amount=line.refund_amount,
            )
            for position, line in enumerate(priced.lines)
        ]
    )
    for product_id, quantity in priced.units_by_product.items():
        OrderLine.objects.filter(id=lines[product_id].id).update(returned_quantity=F("returned_quantity") + quantity)
    order.refunded_total = priced.refunded_after
    order.save(update_fields=["refunded_total", "updated_at"])
    OrderEvent.objects.create(order=order, type=OrderEvent.Type.RETURN_RECORDED, actor=actor)
    order_return_recorded_emit(order)
    if priced.fully_returned:
        check_transition(Status(order.status), Status.RETURNED)
        _move(order, Status.RETURNED, actor)
    order_return_email_enqueue(order=order, order_return=record, lines=record_lines, ordered=lines)
    read_cache.changed(ORDERS)
    transaction.on_commit(lambda: _count_return(priced.refund_total))
    return record


def _count_return(refund: Decimal) -> None:
    metrics.ORDER_RETURNS.inc()
    metrics.REFUNDED.inc(float(refund))  # a metric, never money: the amounts stay Decimal


NOTE_MAX_LENGTH = 2000


@transaction.atomic
def order_note_add(*, order_id: int, actor: User, note: str) -> OrderEvent:
    """Add staff's note to an order's timeline (customers do not see notes)."""
    if not 1 <= len(note) <= NOTE_MAX_LENGTH:
        raise ValueError(f"a note is 1 to {NOTE_MAX_LENGTH} characters")
    order = Order.objects.only("id").get(id=order_id)
    return OrderEvent.objects.create(order=order, type=OrderEvent.Type.NOTE, note=note, actor=actor)


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

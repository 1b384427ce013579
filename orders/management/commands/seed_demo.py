"""Demo data for a newcomer: idempotent, so ``make run`` can call it every time."""

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from inventory import services as inventory_services
from inventory.models import Product
from orders import services as order_services
from orders.domain.placement import DraftLine, OrderDraft
from orders.domain.returns import ReturnDraft, ReturnDraftLine
from orders.domain.status import Status
from orders.models import Coupon, Order
from users.models import User

DEMO_PASSWORD = "stockroom-demo"
STAFF = {"email": "admin@stockroom.local", "username": "admin", "full_name": "Ada Admin"}
CUSTOMERS = [
    {"email": "alice@example.com", "username": "alice", "full_name": "Alice Archer"},
    {"email": "bob@example.com", "username": "bob", "full_name": "Bob Baker"},
    {"email": "carol@example.com", "username": "carol", "full_name": "Carol Chen"},
]
PRODUCTS = [
    ("MUG-001", "Enamel mug", "12.50", 120),
    ("TEE-BLK-M", "Black T-shirt, M", "19.99", 60),
    ("TEE-BLK-L", "Black T-shirt, L", "19.99", 45),
    ("CAP-NVY", "Navy cap", "14.00", 30),
    ("BAG-TOTE", "Canvas tote bag", "9.95", 200),
    ("NB-A5", "A5 notebook", "6.49", 150),
    ("PEN-GEL", "Gel pen, pack of 3", "4.20", 300),
    ("STK-PACK", "Sticker pack", "3.00", 500),
    ("HOOD-GRY-L", "Grey hoodie, L", "39.00", 8),
    ("BTL-STEEL", "Steel bottle", "24.90", 0),
    ("POSTER-A2", "A2 poster", "15.00", 25),
    ("SOCKS-STR", "Striped socks", "8.50", 80),
]
COUPONS = [
    {"code": "WELCOME10", "percent_off": Decimal("10"), "max_uses": 1000},
    {"code": "FIVEOFF", "amount_off": Decimal("5.00")},
]


class Command(BaseCommand):
    help = "Load demo data (staff user, customers, products, coupons, orders); safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        self._load()
        # After the commit, so the demo logins come after the demo emails on the console.
        self.stdout.write(self.style.SUCCESS("Demo data is loaded. Sign in with:"))
        self.stdout.write(f"  staff (admin and API): {STAFF['email']} / {DEMO_PASSWORD}   → /admin/")
        for c in CUSTOMERS:
            self.stdout.write(f"  customer:              {c['email']} / {DEMO_PASSWORD}")
        self.stdout.write("  API docs: http://127.0.0.1:8000/api/docs/")

    @transaction.atomic
    def _load(self) -> None:
        staff = self._user(STAFF, is_staff=True, is_superuser=True)
        customers = [self._user(c) for c in CUSTOMERS]
        products = {sku: self._product(sku, name, price, stock, staff) for sku, name, price, stock in PRODUCTS}
        for coupon in COUPONS:
            if not Coupon.objects.filter(code__iexact=coupon["code"]).exists():
                order_services.coupon_create(**coupon)
        if not Order.objects.filter(customer__in=customers).exists():
            self._orders(customers, products, staff)

    def _user(self, fields: dict[str, Any], **flags: bool) -> User:
        user = User.objects.filter(email=fields["email"]).first()
        if user is None:
            user = User.objects.create_user(password=DEMO_PASSWORD, **{**fields, **flags})
        return user

    def _product(self, sku: str, name: str, price: str, stock: int, staff: User) -> Product:
        product = Product.objects.filter(sku__iexact=sku).first()
        if product is None:
            product = inventory_services.product_create(
                sku=sku, name=name, price=Decimal(price), stock=stock, created_by_id=staff.id,
                description=f"{name} — demo product.",
            )  # fmt: skip
        return product

    def _orders(self, customers: list[User], products: dict[str, Product], staff: User) -> None:
        alice, bob, carol = customers

        def place(customer: User, lines: list[tuple[str, int]], coupon: str | None = None) -> Order:
            draft = OrderDraft(tuple(DraftLine(products[sku].id, qty) for sku, qty in lines), coupon)
            return order_services.order_place(customer=customer, draft=draft).order

        place(alice, [("MUG-001", 2), ("STK-PACK", 5)], "WELCOME10")
        paid = place(alice, [("TEE-BLK-M", 1)])
        order_services.order_transition(order_id=paid.id, target=Status.PAID, actor=staff)
        shipped = place(bob, [("HOOD-GRY-L", 1), ("SOCKS-STR", 2)], "FIVEOFF")
        for status in (Status.PAID, Status.SHIPPED):
            order_services.order_transition(order_id=shipped.id, target=status, actor=staff)
        delivered = place(carol, [("NB-A5", 3), ("PEN-GEL", 2)])
        for status in (Status.PAID, Status.SHIPPED, Status.DELIVERED):
            order_services.order_transition(order_id=delivered.id, target=status, actor=staff)
        cancelled = place(bob, [("CAP-NVY", 1)])
        order_services.order_cancel(order_id=cancelled.id, actor=bob)
        # Delivered, then returned: part of one order, the whole of another.
        partly = place(alice, [("NB-A5", 2), ("PEN-GEL", 3)], "WELCOME10")
        wholly = place(bob, [("SOCKS-STR", 1)])
        for order in (partly, wholly):
            for status in (Status.PAID, Status.SHIPPED, Status.DELIVERED):
                order_services.order_transition(order_id=order.id, target=status, actor=staff)
        order_services.order_return_record(
            order_id=partly.id,
            draft=ReturnDraft((ReturnDraftLine(products["PEN-GEL"].id, 1, restock=False),)),
            reason="Pen arrived leaking",
            actor=staff,
        )
        order_services.order_return_record(
            order_id=wholly.id,
            draft=ReturnDraft((ReturnDraftLine(products["SOCKS-STR"].id, 1),)),
            reason="Wrong size",
            actor=staff,
        )
        # Left unpaid past its time: expired by the same service as beat's task.
        unpaid = place(carol, [("MUG-001", 1)])
        Order.objects.filter(id=unpaid.id).update(expires_at=timezone.now())
        order_services.order_expire(order_id=unpaid.id)
        order_services.order_note_add(order_id=unpaid.id, actor=staff, note="Reminder sent; no payment came.")

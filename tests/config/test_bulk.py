"""bulk_insert stores what bulk_create stores, in one statement, and sets the keys;
Writes sends several writes together (one statement on PostgreSQL)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.db import bulk
from config.db.bulk import Writes, bulk_insert
from inventory.models import Product, StockMovement
from orders.models import Order, OrderLine
from tests.conftest import requires_postgres
from tests.factories import make_product
from tests.support.threads import run_together
from users.models import User

pytestmark = pytest.mark.django_db

COLUMNS = ("product_id", "delta", "reason", "order_id", "balance_after", "created_by_id")


def movements(product, user) -> list[StockMovement]:
    return [
        StockMovement(
            product=product, delta=-1, reason="ünïcode ‘reason’", order_id=7, balance_after=4, created_by=user
        ),
        StockMovement(product=product, delta=3, reason="", order_id=None, balance_after=7, created_by=None),
    ]


def test_rows_are_the_rows_bulk_create_stores(staff: User, django_assert_num_queries):
    product = make_product(stock=5)
    before = timezone.now()
    with django_assert_num_queries(1):
        ours = bulk_insert(movements(product, staff))
    theirs = StockMovement.objects.bulk_create(movements(product, staff))
    assert all(m.pk is not None and not m._state.adding for m in ours)
    stored = {m.id: m for m in StockMovement.objects.filter(id__in=[m.id for m in ours + theirs])}
    for a, b in zip(ours, theirs, strict=True):
        assert [getattr(stored[a.id], c) for c in COLUMNS] == [getattr(stored[b.id], c) for c in COLUMNS]
        assert before <= stored[a.id].created_at == a.created_at <= timezone.now()


def test_decimals_and_foreign_keys_round_trip(customer):
    from orders import services
    from orders.domain.placement import DraftLine, OrderDraft

    product = make_product(price="12.50", stock=5)
    order = services.order_place(customer=customer, draft=OrderDraft((DraftLine(product.id, 1),))).order
    (line,) = OrderLine.objects.filter(order=order)
    assert (line.unit_price, line.line_total, line.position, line.product_id) == (
        product.price,
        product.price,
        0,
        product.id,
    )


def test_only_new_instances_of_one_model(staff):
    product = make_product(stock=5)
    (saved,) = bulk_insert(movements(product, staff)[:1])
    with pytest.raises(ValueError):
        bulk_insert([saved])
    drawn, not_drawn = movements(product, staff)
    drawn.id = saved.id + 1000
    with pytest.raises(ValueError):  # keys drawn for all new rows or for none
        bulk_insert([drawn, not_drawn])
    with pytest.raises(ValueError):
        Writes().insert([not_drawn, drawn])
    assert bulk_insert([]) == []


def test_new_rows_may_carry_keys_drawn_ahead(staff, customer, django_assert_num_queries):
    product = make_product(stock=5)
    (first,) = bulk_insert(movements(product, staff)[:1])
    rows = movements(product, staff)
    rows[0].id, rows[1].id = first.id + 10, first.id + 11
    with django_assert_num_queries(1):
        bulk_insert(rows)
    assert [(m.id, m._state.adding) for m in rows] == [(first.id + 10, False), (first.id + 11, False)]
    assert sorted(StockMovement.objects.filter(id__gt=first.id).values_list("id", "delta")) == [
        (first.id + 10, -1),
        (first.id + 11, 3),
    ]


def line_of(order, product) -> OrderLine:
    return OrderLine(
        order=order, position=0, product=product, sku="S", name="N", unit_price=1, quantity=1, line_total=1
    )


def test_a_unit_of_work_sends_the_writes_of_every_service_together(customer):
    """Inside writes_gathered, insert() and execute() wait for the end of the
    block, whoever calls them (a service's own block joins the open one); the
    row the others point to gets its key at once; the writes then go in one
    statement on PostgreSQL, one each elsewhere."""
    product = make_product(stock=5)
    seen: list[str] = []
    bulk.forget_drawn_keys()  # so that this order's key is drawn here
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with bulk.writes_gathered():
            (order,) = bulk.insert([Order(customer=customer, subtotal=1, discount=0, total=1)], keys_now=True)
            assert order.id is not None
            with bulk.writes_gathered():
                bulk.execute("UPDATE inventory_product SET stock = stock - %s WHERE id = %s", [1, product.id])
                (line,) = bulk.insert([line_of(order, product)])
                bulk.after_write(lambda: seen.append(f"line key {line.pk is not None}"))
            assert line.pk is None and seen == []  # the inner block sent nothing
            before_the_end = len(queries)
        after_the_end = len(queries)
    assert before_the_end == 1  # the key drawn (PostgreSQL), or the order inserted (SQLite)
    assert after_the_end - before_the_end == (1 if connection.vendor == "postgresql" else 2)
    assert seen == ["line key True"]
    assert OrderLine.objects.get(id=line.id).order_id == order.id
    assert Product.objects.get(id=product.id).stock == 4


def test_outside_a_unit_of_work_writes_go_at_once(staff, customer):
    product = make_product(stock=5)
    (order,) = bulk.insert([Order(customer=customer, subtotal=1, discount=0, total=1)], keys_now=True)
    assert Order.objects.filter(id=order.id).exists()
    bulk.execute("UPDATE inventory_product SET stock = stock + %s WHERE id = %s", [2, product.id])
    assert Product.objects.get(id=product.id).stock == 7
    seen = []
    bulk.after_write(lambda: seen.append(1))
    assert seen == [1]


def test_an_error_in_the_unit_of_work_sends_nothing(staff, customer):
    product = make_product(stock=5)
    with pytest.raises(ZeroDivisionError), transaction.atomic(), bulk.writes_gathered():
        bulk.execute("UPDATE inventory_product SET stock = stock + %s WHERE id = %s", [2, product.id])
        1 / 0  # noqa: B018
    assert Product.objects.get(id=product.id).stock == 5
    with bulk.writes_gathered():  # and the next unit starts empty
        pass


@pytest.mark.django_db(transaction=True)  # no test transaction around it
def test_a_unit_of_work_needs_the_callers_transaction():
    with pytest.raises(RuntimeError, match="transaction"), bulk.writes_gathered():
        pass


def new_orders(customer, n: int) -> list[Order]:
    return [Order(customer=customer, subtotal=1, discount=0, total=1) for _ in range(n)]


def test_keys_drawn_ahead_are_never_given_twice(customer):
    with transaction.atomic(), bulk.writes_gathered():
        first, second = bulk.insert(new_orders(customer, 2), keys_now=True)
    assert first.id < second.id
    # A row that takes the column's default goes on past every key drawn.
    assert bulk_insert(new_orders(customer, 1))[0].id > second.id


@pytest.mark.skipif(connection.vendor != "postgresql", reason="keys are drawn ahead only from a sequence")
def test_keys_are_drawn_fifty_at_a_time_and_a_default_takes_its_own_block(customer):
    """Orders' sequence counts in steps of 50 (orders 0007): one query gives
    this process 50 keys; the 51st draws again; a row inserted with the
    column's default takes a block of its own, so no key is given twice."""
    bulk_insert(new_orders(customer, 1))  # past the sequence's first value (a block of one)
    bulk.forget_drawn_keys()
    drawn = []
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        for _ in range(51):
            with bulk.writes_gathered():
                drawn += bulk.insert(new_orders(customer, 1), keys_now=True)
        default = bulk_insert(new_orders(customer, 1))[0]
        with bulk.writes_gathered():
            (after,) = bulk.insert(new_orders(customer, 1), keys_now=True)
    draws = [q["sql"] for q in queries if "nextval" in q["sql"]]
    assert len(draws) == 2  # the first order's block, the 51st's
    keys = [o.id for o in drawn] + [default.id, after.id]
    assert len(set(keys)) == len(keys) == 53
    assert [o.id for o in drawn[:50]] == list(range(drawn[0].id, drawn[0].id + 50))
    assert default.id > max(o.id for o in drawn) and after.id in range(drawn[50].id, drawn[50].id + 50)
    assert Order.objects.filter(id__in=keys).count() == 53


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_threads_placing_orders_at_once_never_share_a_key(customer):
    """Eight threads, each 30 orders in transactions of their own, keys drawn
    ahead from the process's blocks while another process (here, rows with
    the column's default) takes keys too: every key is given once."""
    bulk.forget_drawn_keys()

    def place_thirty() -> list[int]:
        keys = []
        for n in range(30):
            with transaction.atomic():
                if n % 10 == 0:  # as another process would: the column's default
                    keys.append(bulk_insert(new_orders(customer, 1))[0].id)
                with bulk.writes_gathered():
                    (order,) = bulk.insert(new_orders(customer, 1), keys_now=True)
                keys.append(order.id)
        return keys

    keys = [key for keys in run_together(place_thirty, 8) for key in keys]
    assert len(keys) == len(set(keys)) == 8 * 33
    assert Order.objects.filter(id__in=keys).count() == 8 * 33


# --- Writes: several writes sent together ------------------------------------------


def gathered(product, user) -> tuple[Writes, list[StockMovement], list[str]]:
    writes = Writes()
    writes.execute("UPDATE inventory_product SET stock = stock + %s WHERE id = %s", [2, product.id])
    rows = writes.insert(movements(product, user))
    seen: list[str] = []
    writes.then(lambda: seen.append(f"keys {[m.pk is not None for m in rows]}"))
    return writes, rows, seen


def test_a_flush_stores_what_bulk_create_stores(staff, customer):
    """Every kind of value the writes carry (text with quotes and non-ASCII,
    decimals, a NULL, datetimes, a JSON document) arrives as bulk_create
    stores it — on PostgreSQL through one statement with a JSON parameter."""
    from notifications.models import OutboxEmail

    products = [make_product(stock=5) for _ in range(2)]
    when = timezone.now()

    def rows():
        (order,) = bulk_insert([Order(customer=customer, subtotal=Decimal("0.10"), discount=0, total=Decimal("0.10"))])
        return (
            movements(products[0], staff),
            [
                OrderLine(order=order, position=n, product=product, sku='S-"1\\', name="Ünï ‘x’ \n\t",
                          unit_price=Decimal("12345678.99"), quantity=2**31 - 1, line_total=Decimal("0.01"))
                for n, product in enumerate(products)
            ],
            [
                OutboxEmail(kind="k", to="a@example.com", subject="s ‘ü’", template="orders/confirmation",
                            context={"ü": ["1.10", None, 3, {"n": "\\x"}], "q": 'a"b'}, next_attempt_at=when),
                OutboxEmail(kind="k", to="b@example.com", subject="", body_text="text", context=None,
                            next_attempt_at=when),
            ],
        )  # fmt: skip

    assert_flush_stores_what_bulk_create_stores(rows(), rows())


def assert_flush_stores_what_bulk_create_stores(ours: list[list], theirs: list[list]) -> None:
    """Flush ``ours`` through one Writes and ``theirs`` through bulk_create,
    then compare what was stored, row by row (each side's clock aside)."""
    writes = Writes()
    for objs in ours:
        writes.insert(objs)
    writes.flush()
    for objs in theirs:
        type(objs[0]).objects.bulk_create(objs)
    for mine, other in zip(ours, theirs, strict=True):
        model = type(mine[0])
        columns = [f.attname for f in model._meta.concrete_fields if f.attname not in ("id", "order_id")]
        stored = model.objects.in_bulk([o.pk for o in mine + other])
        for a, b in zip(mine, other, strict=True):
            row_a = {c: getattr(stored[a.pk], c) for c in columns}
            row_b = {c: getattr(stored[b.pk], c) for c in columns}
            for c in ("created_at",):  # each side's own clock
                if c in row_a:
                    assert abs(row_a.pop(c) - row_b.pop(c)).total_seconds() < 60
            assert row_a == row_b


def test_values_of_another_type_are_converted_by_their_field_as_bulk_create_does(customer):
    """Integers, text and booleans of their field's own type are stored as
    they are; any other value goes through the field's conversion (which the
    database's own casts would not always match: ``True`` as text is "True"
    for Django, "true" for PostgreSQL; 7.9 as an integer is 7 for Django, an
    error for PostgreSQL)."""
    from notifications.models import OutboxEmail

    product = make_product(stock=5)
    when = timezone.now()

    def rows():
        (order,) = bulk_insert([Order(customer=customer, subtotal=Decimal("1"), discount=0, total=Decimal("1"))])
        line = OrderLine(order=order, position="3", product_id=str(product.id), sku=12345, name=True,
                         unit_price=1, quantity=7.9, line_total="7.00")  # fmt: skip
        email = OutboxEmail(kind=1, to="a@example.com", subject="s", attempts="2", next_attempt_at=when)
        return [line], [email]

    ours = rows()
    assert_flush_stores_what_bulk_create_stores(ours, rows())
    assert stored_line(ours[0][0]) == (3, product.id, "12345", "True", 7)


def test_row_values_are_what_each_fields_own_conversions_give(staff, customer):
    """Every column value of a new row is what the field's ``pre_save`` and
    ``get_db_prep_save`` give, of the same type — on PostgreSQL an integer
    field's value is psycopg's Int2/Int4/Int8, as Django sends it, so a
    statement's parameter types do not depend on the values."""
    from config.db.bulk import _columns, _params
    from notifications.models import OutboxEmail

    product = make_product(stock=5)
    (order,) = bulk_insert([Order(customer=customer, subtotal=Decimal("1"), discount=0, total=Decimal("1"))])
    rows = [
        movements(product, staff),
        [OrderLine(order=order, position=0, product=product, sku="S", name="N", unit_price=Decimal("1"),
                   quantity=40_000, line_total=Decimal("40000"))],
        [OutboxEmail(kind="k", to="a@example.com", subject="s", attempts=3, next_attempt_at=timezone.now())],
        [Order(customer=customer, subtotal=Decimal("1"), discount=0, total=Decimal("1"), coupon_code=None)],
    ]  # fmt: skip
    for objs in rows:
        fields, _ = _columns(type(objs[0]))
        ours = _params(objs, "default", False)
        django = [f.get_db_prep_save(f.pre_save(o, add=True), connection) for o in objs for f in fields]
        for field, a, b in zip(fields * len(objs), ours, django, strict=True):
            assert type(a) is type(b), field
            if not getattr(field, "auto_now", False) and not getattr(field, "auto_now_add", False):
                assert a == b, field


def stored_line(line: OrderLine) -> tuple:
    row = OrderLine.objects.get(pk=line.pk)
    return row.position, row.product_id, row.sku, row.name, row.quantity


def test_writes_are_sent_at_the_flush_in_one_statement_on_postgresql(staff, django_assert_num_queries):
    product = make_product(stock=5)
    writes, rows, seen = gathered(product, staff)
    assert all(m.pk is None for m in rows) and seen == []  # nothing sent yet
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):
        writes.flush()
    assert seen == ["keys [True, True]"]  # callbacks run after the keys are set
    product.refresh_from_db()
    assert product.stock == 7
    stored = StockMovement.objects.filter(id__in=[m.id for m in rows]).order_by("id")
    assert [(m.id, m.delta, m.reason, m.order_id) for m in stored] == [
        (m.id, m.delta, m.reason, m.order_id) for m in sorted(rows, key=lambda m: m.id)
    ]
    assert {m.delta for m in stored} == {-1, 3}
    # Each key is the key of the row with its own values.
    for m in rows:
        assert StockMovement.objects.get(id=m.id).delta == m.delta


def test_writes_keep_each_models_keys_apart(staff, customer):
    from orders.models import Order

    product = make_product(stock=5)
    writes = Writes()
    lines = writes.insert(movements(product, staff))
    orders = writes.insert([Order(customer=customer, subtotal=1, discount=0, total=1) for _ in range(3)])
    writes.flush()
    assert sorted(Order.objects.filter(customer=customer).values_list("id", flat=True)) == sorted(o.id for o in orders)
    assert sorted(
        StockMovement.objects.filter(product=product).exclude(reason="initial stock").values_list("id", flat=True)
    ) == sorted(m.id for m in lines)


def test_a_refused_write_fails_the_whole_flush(staff):
    product = make_product(stock=1)
    writes = Writes()
    writes.insert(movements(product, staff))
    writes.execute("UPDATE inventory_product SET stock = stock - %s WHERE id = %s", [5, product.id])  # CHECK >= 0
    with pytest.raises(IntegrityError), transaction.atomic():
        writes.flush()
    assert not StockMovement.objects.filter(reason="ünïcode ‘reason’").exists()
    product.refresh_from_db()
    assert product.stock == 1


def test_a_flush_with_nothing_gathered_sends_nothing(django_assert_num_queries):
    writes = Writes()
    with django_assert_num_queries(0):
        writes.flush()

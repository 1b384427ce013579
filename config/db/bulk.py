"""Insert new rows of one model in one statement, and a unit of work that
sends a transaction's writes together: bulk_create's job, for the hot path.

Placing an order inserts its lines and its stock movements; Django's
``bulk_create`` spends about 0.6 ms of Python on each (options, batching,
building and compiling an InsertQuery), ten times what the INSERT itself
costs here. :func:`bulk_insert` does the part we use — new rows, one
statement, primary keys set from ``RETURNING`` — with each field's own
``pre_save`` and ``get_db_prep_save``, so the stored values are the ones
``bulk_create`` would store (a test holds it to that). Like ``bulk_create``,
it sends no signals and calls no ``save()``.

:func:`writes_gathered` is the unit of work of a transaction that writes
several tables at once (placing an order: the stock, its movements, the
lines, the outbox row). Inside it, every service's :func:`insert` and
:func:`execute` — inventory's, the outbox's, the caller's — are gathered
and sent together when the block ends: on PostgreSQL as one statement of
data-modifying CTEs, one round trip instead of one each; elsewhere (SQLite
has no writable CTEs) one statement each. Outside a block they are sent at
once, so a service writes the same way whoever calls it, and no service's
signature carries the unit. A row that others in the unit point to is
inserted with ``keys_now`` (its key drawn from the sequence, or the row
written at once where there is none).

Keys drawn ahead come in blocks where the sequence counts in steps (orders'
does, by 50: a migration sets it): ``nextval`` giving ``v`` makes the keys
``v - step + 1 .. v`` this process's, so one query serves ``step`` orders,
and a row inserted with the column's default (``v`` itself) takes a block of
its own. Keys stay unique across processes; they are not in the order rows
were written across processes, and a process that stops leaves the rest of
its block unused (as a rolled-back transaction leaves its key).
"""

import json
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar, cast

import orjson
from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.models import Field, Model, QuerySet
from psycopg.types.json import Json, Jsonb

M = TypeVar("M", bound=Model)


@cache
def _columns(model: type[Model], with_pk: bool = False) -> tuple[list[Field], Field]:
    """The columns an INSERT of new ``model`` rows writes (the primary key
    only ``with_pk``: drawn ahead), and the primary key."""
    opts = model._meta
    if opts.parents or opts.pk is None or not opts.pk.db_returning:
        raise TypeError(f"bulk_insert needs a model with a database-generated primary key: {model.__name__}")
    return [f for f in opts.concrete_fields if with_pk or f is not opts.pk], opts.pk


def _with_pk(objs: Sequence[Model]) -> bool:
    """Whether the new rows carry their primary keys (drawn ahead): all or none."""
    model, with_pk = type(objs[0]), objs[0].pk is not None
    for obj in objs:
        if type(obj) is not model or not obj._state.adding or (obj.pk is not None) != with_pk:
            raise ValueError("bulk_insert takes new instances of one model, all with their keys drawn or none")
    return with_pk


def _name(name: str | None) -> str:
    """A concrete field's column or a model's table (the stubs allow None, for
    fields with no column of their own: ``_columns`` takes none of those)."""
    if name is None:
        raise TypeError("a field with no column of its own")
    return name


def column(model: type[Model], field_name: str) -> str:
    """The column of ``model``'s concrete field ``field_name``, quoted as the
    default database writes it, for a statement written as SQL."""
    field = model._meta.get_field(field_name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{field_name} is a relation's other side, not a column")
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(_name(field.column))


def table(model: type[Model]) -> str:
    """``model``'s table, quoted as the default database writes it."""
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(_name(model._meta.db_table))


@cache
def _sql(model: type[Model], rows: int, with_pk: bool) -> str:
    fields, pk = _columns(model, with_pk)
    quote = connections[router.db_for_write(model)].ops.quote_name
    one = f"({', '.join('%s' for _ in fields)})"
    return (
        f"INSERT INTO {quote(_name(model._meta.db_table))} ({', '.join(quote(_name(f.column)) for f in fields)})"
        f" VALUES {', '.join(one for _ in range(rows))} RETURNING {quote(_name(pk.column))}"
    )


@cache
def _json_sql(model: type[Model], alias: str, with_pk: bool) -> str:
    """PostgreSQL: the INSERT of any number of rows sent as one JSON array of
    objects (column → value), read back by ``json_to_recordset`` with each
    column's own type — the same text and one parameter whatever the number
    of rows. (psycopg dumps an array parameter element by element in Python:
    the 28 arrays of an order's writes took 0.2 ms, the JSON 0.005 ms.)"""
    fields, pk = _columns(model, with_pk)
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(_name(f.column)) for f in fields)
    types = ", ".join(f"{quote(_name(f.column))} {f.db_type(connection)}" for f in fields)
    return (
        f"INSERT INTO {quote(_name(model._meta.db_table))} ({columns})"
        f" SELECT {columns} FROM json_to_recordset(%s::json) AS r({types})"
        f" RETURNING {quote(_name(pk.column))}"
    )


def _json_value(value: Any) -> Any:
    """orjson's fallback for what a field's ``get_db_prep_save`` gives and
    orjson does not write itself: decimals as their exact text, JSON values
    as the JSON their field's encoder writes."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Json | Jsonb):
        return orjson.Fragment((value.dumps or json.dumps)(value.obj))
    raise TypeError(f"no JSON form for a {type(value).__name__} column value")


def _json_rows(objs: Sequence[Model], alias: str, with_pk: bool) -> str:
    fields, _ = _columns(type(objs[0]), with_pk)
    values = _params(objs, alias, with_pk)
    width = len(fields)
    rows = [
        {f.column: value for f, value in zip(fields, values[start : start + width], strict=True)}
        for start in range(0, len(values), width)
    ]
    return orjson.dumps(rows, default=_json_value).decode()


_AUTO = (models.AutoField, models.BigAutoField, models.SmallAutoField)
_INTEGER = (
    models.IntegerField, models.BigIntegerField, models.SmallIntegerField, models.PositiveIntegerField,
    models.PositiveBigIntegerField, models.PositiveSmallIntegerField,
)  # fmt: skip
_PLAIN = {models.CharField: str, models.TextField: str, models.BooleanField: bool}


def _shortcut(field: Field) -> tuple[type, str | None] | None:
    """What ``pre_save`` and ``get_db_prep_save`` do to a value of one exact
    type, without them: ``(type, adaptation)`` — a value of exactly that type
    is stored adapted by the backend as below (as it is if None), and None as None
    — or None where every value must go through them. Exact field classes
    only (a subclass may convert), with the base ``pre_save``:

    - auto fields, and foreign keys to them: the backend's check of the key
      (``validate_autopk_value``);
    - integer fields: the backend's adapter (on PostgreSQL psycopg's Int2,
      Int4 or Int8, so a parameter's type does not depend on its value);
    - text and booleans: as they are.
    """
    kind = type(field)
    if kind.pre_save is not Field.pre_save:
        return None
    if kind is models.ForeignKey:
        target = _shortcut(field.target_field)  # type: ignore[attr-defined]
        return target if target is not None and target[0] is int else None
    if kind in _AUTO:
        return int, "auto"
    if kind in _INTEGER:
        return int, field.get_internal_type()
    plain = _PLAIN.get(kind)
    return (plain, None) if plain is not None else None


@cache
def _plan(model: type[Model], with_pk: bool) -> list[tuple[Field, str, tuple[type, str | None] | None]]:
    fields, _ = _columns(model, with_pk)
    return [(f, f.attname, _shortcut(f)) for f in fields]


def _params(objs: Sequence[Model], alias: str, with_pk: bool) -> list[Any]:
    """Each new row's column values, as each field's ``pre_save`` and
    ``get_db_prep_save`` give them (:func:`_shortcut` where it can)."""
    plan = _plan(type(objs[0]), with_pk)
    connection = connections[alias]
    ops = connection.ops
    params = []
    for obj in objs:
        for field, attname, shortcut in plan:
            value: Any = getattr(obj, attname)
            if shortcut is None or (value is not None and type(value) is not shortcut[0]):
                value = field.get_db_prep_save(field.pre_save(obj, add=True), connection)
            elif value is not None and shortcut[1] == "auto":
                value = ops.validate_autopk_value(cast(int, value))  # an int: checked just above
            elif value is not None and shortcut[1] is not None:
                value = ops.adapt_integerfield_value(value, shortcut[1])
            params.append(value)
    return params


def _saved(objs: Sequence[M], ids: Sequence[Any], alias: str) -> list[M]:
    _, pk = _columns(type(objs[0]))
    for obj, value in zip(objs, ids, strict=True):
        setattr(obj, pk.attname, value)
        obj._state.adding = False
        obj._state.db = alias
    return list(objs)


def bulk_insert(objs: Sequence[M]) -> list[M]:
    """INSERT ``objs`` (new instances of one model) and set their primary keys."""
    if not objs:
        return []
    model, with_pk = type(objs[0]), _with_pk(objs)
    alias = router.db_for_write(model)
    params = _params(objs, alias, with_pk)
    with connections[alias].cursor() as cursor:
        cursor.execute(_sql(model, len(objs), with_pk), params)
        ids = [row[0] for row in cursor.fetchall()]
    return _saved(objs, ids, alias)


class _Read:
    """A query sent with the unit of work, and its rows once it is sent."""

    def __init__(self, rows: QuerySet[Any]) -> None:
        self.queryset = rows
        self.rows: list[dict[str, Any]] = []


# A read's SQL, compiled once per queryset (a caller that keeps its queryset
# compiles it once: compiling cost more than running it).
_compiled_reads: "weakref.WeakKeyDictionary[QuerySet[Any], tuple[str, tuple[Any, ...]]]" = weakref.WeakKeyDictionary()


def _read_sql(rows: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    compiled = _compiled_reads.get(rows)
    if compiled is None:
        compiled = _compiled_reads[rows] = rows.query.sql_with_params()
    return compiled


def _read_now(rows: QuerySet[Any], alias: str) -> list[dict[str, Any]]:
    """``rows`` now, as :meth:`Writes.read` gives them: on PostgreSQL as
    ``to_jsonb`` makes them, elsewhere as the ORM does (the same values for
    the plain columns a read may take)."""
    if connections[alias].vendor != "postgresql":
        return list(rows.all())
    sql, params = _read_sql(rows)
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT to_jsonb(q) FROM ({sql}) q", params)
        return [_jsonb(row) for (row,) in cursor.fetchall()]


def _jsonb(value: Any) -> Any:
    """A jsonb value as Python: Django has psycopg hand jsonb over as text."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


class Writes:
    """Writes gathered now and sent together by :meth:`flush`.

    ``insert(objs)`` (new instances of one model, as :func:`bulk_insert`),
    ``execute(sql, params)`` (a statement that returns nothing) and
    ``read(rows, then)`` (a ``values()`` queryset whose rows ``then`` gets) are kept
    in order; ``flush()`` sends them and sets the inserted rows' primary
    keys, then runs the ``then()`` callbacks and the reads' in order. On
    PostgreSQL that is one statement::

        WITH w0 AS (UPDATE …), w1 AS (INSERT … RETURNING id), w2 AS (SELECT …), …
        SELECT 1, id, NULL FROM w1 UNION ALL SELECT 2, NULL, to_jsonb(w2) FROM w2 …

    Each INSERT takes its rows as one JSON parameter (``json_to_recordset``),
    so the statement's text and its number of parameters do not depend on the
    number of rows.
    Its parts run on one snapshot, so none may read what another writes:
    they are independent writes, in any order (foreign keys are checked at
    commit). Elsewhere each part is its own statement, in order. The caller
    holds the transaction.
    """

    def __init__(self, using: str = DEFAULT_DB_ALIAS) -> None:
        self.alias = using
        self._parts: list[tuple[str, Sequence[Any]] | Sequence[Model] | _Read] = []
        self._then: list[Callable[[], None]] = []

    def insert(self, objs: Sequence[M]) -> list[M]:
        """Insert ``objs`` at the flush; their keys are set then (unless drawn ahead)."""
        if objs:
            _columns(type(objs[0]))  # refuse an unsupported model, or a mix, now, not at the flush
            _with_pk(objs)
            self._parts.append(objs)
        return list(objs)

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        self._parts.append((sql, params))

    def read(self, rows: QuerySet[Any], then: Callable[[list[dict[str, Any]]], None]) -> None:
        """Run ``rows`` (a ``values()`` queryset of plain columns: integers,
        text, booleans, JSON) with the flush, on the snapshot the writes start
        from (it sees none of them), and give its rows to ``then`` after the
        flush."""
        query = _Read(rows)
        self._parts.append(query)
        self._then.append(lambda: then(query.rows))

    def then(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after the flush (it may read the new keys)."""
        self._then.append(callback)

    def flush(self) -> None:
        parts, self._parts = self._parts, []
        if connections[self.alias].vendor == "postgresql" and len(parts) > 1:
            self._flush_as_one(parts)
        else:
            for part in parts:
                if isinstance(part, _Read):
                    part.rows = _read_now(part.queryset, self.alias)
                elif isinstance(part, tuple):
                    with connections[self.alias].cursor() as cursor:
                        cursor.execute(*part)
                else:
                    bulk_insert(part)
        callbacks, self._then = self._then, []
        for callback in callbacks:
            callback()

    def _flush_as_one(self, parts: list[tuple[str, Sequence[Any]] | Sequence[Model] | _Read]) -> None:
        ctes: list[str] = []
        selects: list[str] = []
        params: list[Any] = []
        inserts: dict[int, Sequence[Model]] = {}
        reads: dict[int, _Read] = {}
        for n, part in enumerate(parts):
            if isinstance(part, _Read):
                sql, part_params = _read_sql(part.queryset)
                reads[n] = part
                params.extend(part_params)
                selects.append(f"SELECT {n}, NULL::bigint, to_jsonb(w{n}) FROM w{n}")
            elif isinstance(part, tuple):
                sql, part_params = part
                params.extend(part_params)
            else:
                model, with_pk = type(part[0]), _with_pk(part)
                _, pk = _columns(model, with_pk)
                sql, inserts[n] = _json_sql(model, self.alias, with_pk), part
                params.append(_json_rows(part, self.alias, with_pk))
                column = connections[self.alias].ops.quote_name(_name(pk.column))
                selects.append(f"SELECT {n}, {column}::bigint, NULL::jsonb FROM w{n}")
            ctes.append(f"w{n} AS ({sql})")
        with connections[self.alias].cursor() as cursor:
            cursor.execute(f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects) or 'SELECT NULL, NULL, NULL'}", params)
            rows = cursor.fetchall()
        ids: dict[int, list[Any]] = {n: [] for n in inserts}
        for n, value, row in rows:
            if n in reads:
                reads[n].rows.append(_jsonb(row))
            elif n is not None:
                ids[n].append(value)
        for n, objs in inserts.items():
            _saved(objs, ids[n], self.alias)


# --- The unit of work ---------------------------------------------------------------


class _Open(threading.local):
    """The unit of work open in this thread (under gevent, this greenlet:
    its ``threading.local`` is the greenlet's), if any. Blocks inside it
    join it, so there is never more than one."""

    unit: "Writes | None" = None


_open = _Open()


@contextmanager
def writes_gathered(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Gather the writes made by :func:`insert` and :func:`execute` inside the
    block, and send them together when it ends; then run the
    :func:`after_write` callbacks. The caller holds the transaction: an
    exception in the block sends nothing (and rolls the transaction back).
    A block inside another joins it: the outermost one sends."""
    if _open.unit is not None:
        yield
        return
    if not connections[using].in_atomic_block:
        raise RuntimeError("writes_gathered needs the caller's transaction")
    unit = _open.unit = Writes(using)
    try:
        yield
    finally:
        _open.unit = None
    unit.flush()


# Keys drawn and not yet given, by database and table: this process's blocks.
_drawn: dict[tuple[str, str], list[int]] = {}
_drawn_lock = threading.Lock()
_steps: dict[tuple[str, str], int] = {}  # the sequence's step, once it is known


def forget_drawn_keys() -> None:
    """Drop the keys this process holds (in a child process after a fork, where
    they are the parent's; in tests that reset a sequence)."""
    with _drawn_lock:
        _drawn.clear()


os.register_at_fork(after_in_child=forget_drawn_keys)


def _draw_keys(model: type[Model], count: int, alias: str) -> list[int]:
    """``count`` new primary keys of ``model`` from its sequence (PostgreSQL),
    from this process's block; a query only when the block is used up."""
    table = _name(model._meta.db_table)
    held = (alias, table)
    with _drawn_lock:
        keys = _drawn.setdefault(held, [])
        if len(keys) >= count:
            given, keys[:count] = keys[:count], []
            return given
    connection = connections[alias]
    _, pk = _columns(model)
    step = _steps.get(held, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(s.seqrelid), s.seqincrement FROM pg_sequence s, generate_series(1, %s)"
            " WHERE s.seqrelid = pg_get_serial_sequence(%s, %s)::regclass",
            [-(-count // step), connection.ops.quote_name(table), pk.column],
        )
        rows = cursor.fetchall()
    drawn = [key for top, increment in rows for key in range(max(top - increment + 1, 1), top + 1)]
    _steps[held] = rows[0][1]
    with _drawn_lock:  # another greenlet may have drawn meanwhile: keys stay ascending
        keys = _drawn.setdefault(held, [])
        keys += drawn
        keys.sort()
        given, keys[:count] = keys[:count], []
    return given


def insert(objs: Sequence[M], *, keys_now: bool = False) -> list[M]:
    """Insert ``objs`` (new instances of one model, as :func:`bulk_insert`): in
    the open unit of work, when it sends (their keys are set then), or at once
    if none is open. ``keys_now``: set their keys now, for rows of the unit
    that point to them — drawn from the table's sequence where the database
    has one (one query), else by inserting the rows now."""
    unit = _open.unit
    if unit is None or not objs:
        return bulk_insert(objs)
    if keys_now:
        if connections[unit.alias].vendor != "postgresql":
            return bulk_insert(objs)
        for obj, key in zip(objs, _draw_keys(type(objs[0]), len(objs), unit.alias), strict=True):
            obj.pk = key
    return unit.insert(objs)


def execute(sql: str, params: Sequence[Any]) -> None:
    """Run a statement that returns nothing: in the open unit of work, or at once."""
    unit = _open.unit
    if unit is None:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(sql, params)
    else:
        unit.execute(sql, params)


def read(rows: QuerySet[Any], then: Callable[[list[dict[str, Any]]], None]) -> None:
    """Run ``rows`` (a ``values()`` queryset of plain columns) with the open
    unit of work — in its statement on PostgreSQL: no round trip of its own —
    and give its rows to ``then`` once the unit is sent; outside a unit, at
    once. A caller that keeps its queryset has it compiled once."""
    unit = _open.unit
    if unit is None:
        then(_read_now(rows, router.db_for_read(rows.model)))
    else:
        unit.read(rows, then)


def after_write(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the writes before it are sent (it may read the new keys)."""
    unit = _open.unit
    if unit is None:
        callback()
    else:
        unit.then(callback)

"""Hot reads built by the ORM once, then run again with new arguments.

Django builds and compiles a queryset anew on every call: for a filter and a
``values()`` that is about 1 ms of Python here, against 0.1 ms to send the
SQL and read the rows. The few reads every request makes (the signed-in
user, an order and its lines, the products an order locks) are written as
ordinary querysets; :class:`Prepared` compiles each once per OS thread, with
stand-in arguments, and afterwards sends the same SQL with the real
arguments and converts the rows with the ORM's own converters — so the
values are exactly what the queryset would have given (a test holds it to
that), on SQLite as on PostgreSQL.

Arguments are integers (ids), or tuples of integers for ``__in``; a tuple's
length is part of the SQL, so each length is compiled once. An integer no
64-bit column can hold matches no row, as in the ORM's own lookups (the
database is not asked: PostgreSQL would refuse the parameter).
"""

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet

from config.db.green import os_thread_local

M = TypeVar("M", bound=Model)

# Stand-ins for the arguments while compiling: integers that fit any integer
# column and that no query of ours holds as a constant.
_FIRST_STAND_IN = 2_100_000_000
_INT64 = range(-(2**63), 2**63)


class _Compiled:
    def __init__(self, queryset: QuerySet[Any], stand_ins: dict[str, int | tuple[int, ...]]) -> None:
        self.alias = queryset.db
        compiler = queryset.query.get_compiler(using=queryset.db)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        # Where each argument goes in the parameters.
        self.slots: list[tuple[int, str, int | None]] = []
        where: dict[int, tuple[str, int | None]] = {}
        for name, value in stand_ins.items():
            if isinstance(value, tuple):
                where.update({v: (name, i) for i, v in enumerate(value)})
            else:
                where[value] = (name, None)
        for position, param in enumerate(self.params):
            if type(param) is int and param in where:
                self.slots.append((position, *where.pop(param)))
        if where:
            raise ValueError(f"arguments {sorted(n for n, _ in where.values())} are not parameters of the query")
        self.compiler = compiler
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        self.converters = compiler.get_converters(fields)
        if queryset._fields is not None:  # type: ignore[attr-defined]  # values(): rows become dicts
            query = queryset.query
            self.names: list[str] | None = [*query.extra_select, *query.values_select, *query.annotation_select]
            self.model_fields: list[str] = []
        else:
            self.names = None
            if queryset.query.select_related or compiler.annotation_col_map:
                raise ValueError("a prepared model query takes no select_related or annotations")
            self.model_fields = [s[0].target.attname for s in compiler.select[0 : compiler.col_count]]

    def rows(self, arguments: dict[str, Any]) -> list[Any]:
        params = self.params.copy()
        for position, name, index in self.slots:
            params[position] = arguments[name] if index is None else arguments[name][index]
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if self.converters:
            rows = list(self.compiler.apply_converters(rows, self.converters))
        return rows


class Prepared(Generic[M]):
    """``Prepared(lambda id, customer_id: Order.objects.filter(...).values(...))``:
    ``.values(id=5, customer_id=7)`` gives the rows the queryset would give
    (dicts for a ``values()`` or ``values_list()`` queryset), ``.instances(...)`` the models (for
    a plain model queryset)."""

    def __init__(self, build: Callable[..., QuerySet[M]]) -> None:
        self._build = build
        # Compiled once per OS thread (shared by its greenlets under gevent):
        # nothing in it belongs to a request.
        self._local = os_thread_local()()

    def _compiled(self, arguments: dict[str, Any]) -> _Compiled:
        shape = tuple((name, len(v) if isinstance(v, tuple) else None) for name, v in sorted(arguments.items()))
        cache: dict[tuple[Any, ...], _Compiled] = self._local.__dict__.setdefault("compiled", {})
        compiled = cache.get(shape)
        if compiled is None:
            stand_ins: dict[str, int | tuple[int, ...]] = {}
            counter = _FIRST_STAND_IN
            for name, length in shape:
                if length is None:
                    stand_ins[name], counter = counter, counter + 1
                else:
                    stand_ins[name], counter = tuple(range(counter, counter + length)), counter + length
            compiled = cache[shape] = _Compiled(self._build(**stand_ins), stand_ins)
        return compiled

    def _rows(self, arguments: dict[str, int | Sequence[int]]) -> tuple[_Compiled | None, list[Any]]:
        """The compiled query for these arguments and its rows; (None, []) when
        an argument is beyond 64 bits and so matches nothing."""
        normal: dict[str, int | tuple[int, ...]] = {}
        for name, value in arguments.items():
            if isinstance(value, int):
                if value not in _INT64:
                    return None, []
                normal[name] = value
            else:
                normal[name] = tuple(v for v in value if v in _INT64)
                if not normal[name]:
                    return None, []
        compiled = self._compiled(normal)
        return compiled, compiled.rows(normal)

    def values(self, **arguments: int | Sequence[int]) -> list[dict[str, Any]]:
        compiled, rows = self._rows(arguments)
        if compiled is None:
            return []
        if compiled.names is None:
            raise TypeError("values() needs a values() queryset; use instances()")
        return [dict(zip(compiled.names, row, strict=True)) for row in rows]

    def instances(self, **arguments: int | Sequence[int]) -> list[M]:
        compiled, rows = self._rows(arguments)
        if compiled is None:
            return []
        if compiled.names is not None:
            raise TypeError("instances() needs a model queryset; use values()")
        model = compiled.compiler.query.model
        return [model.from_db(compiled.alias, compiled.model_fields, row) for row in rows]

"""No index of ours repeats what another already serves: an index whose
columns begin another index's (a one-column foreign key index beside a
composite that starts with the same column) costs every insert for nothing."""

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

APPS = ("users", "inventory", "orders")


def indexes(model) -> dict[str, tuple[list[str], bool]]:
    """The model's table's B-tree indexes: name → (columns, unique), leaving out
    partial indexes and constraints (an index ``WHERE …`` serves other queries than the
    whole column's), indexes on expressions and, on PostgreSQL, Django's
    ``…_like`` twin of a text column's index (its operator class serves
    ``LIKE 'abc%'``, which the plain index does not)."""
    partial = {
        item.name
        for item in [*model._meta.indexes, *model._meta.constraints]
        if getattr(item, "condition", None) is not None
    }
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {
        name: (info["columns"], bool(info["unique"]))
        for name, info in found.items()
        if (info["index"] or info["unique"])
        and info.get("type", "idx") == "idx"  # a B-tree (GIN, BRIN, hash … serve other queries)
        and name not in partial
        and not name.endswith("_like")
        and info["columns"]
        and None not in info["columns"]
    }


def redundant(table: dict[str, tuple[list[str], bool]]) -> list[str]:
    out = []
    for name, (columns, unique) in table.items():
        if unique:
            continue  # it enforces something
        for other, (other_columns, _) in table.items():
            if other != name and other_columns[: len(columns)] == columns:
                out.append(f"{name} {columns} is served by {other} {other_columns}")
                break
    return out


def test_redundant_is_found():
    table = {
        "a": (["x"], False),
        "b": (["x", "y"], False),
        "c": (["y"], False),
        "u": (["z"], True),
        "v": (["z", "x"], True),
    }
    assert redundant(table) == ["a ['x'] is served by b ['x', 'y']"]


def test_no_index_is_served_by_another():
    found = []
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            found += [f"{model._meta.db_table}: {line}" for line in redundant(indexes(model))]
    assert found == []

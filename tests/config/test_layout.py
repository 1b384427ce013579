"""The layout the tree promises (config/*/__init__.py): config/ imports no
app, and its wings import each other one way only — db at the ground, api
above it, platform above both. Read from the code's own imports (no database)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = {"users", "inventory", "orders", "notifications"}
# What each part of config/ may import of Stockroom's own code.
MAY_IMPORT = {
    "db": {"config.db"},
    "api": {"config.db", "config.api", "config.domain_errors"},
    "platform": {"config.db", "config.api", "config.platform", "config.celery", "config.domain_errors"},
}


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (a function's
    own imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


CONFIG_FILES = sorted((ROOT / "config").rglob("*.py"))


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_under_config_imports_an_app(path: Path) -> None:
    assert not {name for name in imports(path) if name.split(".")[0] in APPS}


@pytest.mark.parametrize("wing", sorted(MAY_IMPORT))
def test_each_wing_of_config_imports_only_what_its_docstring_allows(wing: str) -> None:
    allowed = MAY_IMPORT[wing]
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "config" / wing).rglob("*.py")
        for name in imports(path)
        if name.startswith("config")
        and name != "config"
        and not any(name == prefix or name.startswith(prefix + ".") for prefix in allowed)
    }
    assert not wrong


def test_config_itself_is_the_wiring_and_the_error_kernel_only() -> None:
    modules = {p.name for p in (ROOT / "config").glob("*.py")}
    assert modules == {"__init__.py", "settings.py", "urls.py", "wsgi.py", "asgi.py", "celery.py", "domain_errors.py"}
    assert {p.name for p in (ROOT / "config").iterdir() if p.is_dir() and p.name != "__pycache__"} == set(MAY_IMPORT)


# Between apps, dependencies point one way (README, "How it is built").
APP_MAY_IMPORT = {
    "notifications": set(),
    "users": {"notifications"},
    "inventory": {"users", "notifications"},
    "orders": {"inventory", "users", "notifications"},
}


@pytest.mark.parametrize("app", sorted(APP_MAY_IMPORT))
def test_apps_depend_on_each_other_one_way(app: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
        for name in imports(path)
        if name.split(".")[0] in APPS - {app} - APP_MAY_IMPORT[app]
    }
    assert not wrong

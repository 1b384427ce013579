"""Every use of a library's private name is in docs/PRIVATE_NAMES.md's table.

A private name (a leading underscore; not a dunder) may change in any release
of its library without a word, so Stockroom uses one only as a last resort and
lists each use in one table, keyed by file and name, with what it buys and the
test that breaks when the library changes it. These tests find the uses in the
product code (config/, the apps, gunicorn.conf.py, manage.py; not tests/,
migrations/ or bench/) and hold the table to them: a use the table lacks
fails, and so does a row whose use is gone. Django's documented ``_meta`` API
is not private (DOCUMENTED).

A use is found in two ways:

- Read from the source, on an object whose class the code does not say:
  ``x._name`` (read or written), ``getattr(x, "_name")`` and its siblings, a
  call's ``_name=`` keyword, where ``_name`` is defined nowhere in our code and
  occurs in the source of a library our code imports (with what it requires)
  or of the standard library modules it imports (so an attribute of our own
  hung on a library's object, ``request._gcra_decisions``, is not one); and
  any import of a private name, or from a private module
  (``from redis._parsers import _HiredisParser``).
- Through our classes, resolved along each class's MRO once Django is set up
  (no database): ``self._name``, ``cls._name``, ``super()._name`` and
  ``getattr(self, "_name")`` where a library base class has ``_name`` (in its
  ``__dict__`` or set on ``self`` in its source) and none of our classes on the
  way defines it; and every ``_name`` a class of ours defines (a method, a
  class attribute, ``self._name = …``) that a library base class has too: an
  override, which the library calls, or an attribute of its that we clobber.
  A mixin of ours is read in the MRO of each class that mixes it in.
  A ``self._name`` that neither we nor a library base define is listed too
  (someone else sets it: it is not ours).

Not found: private names in strings elsewhere (settings, patch targets), and
``x._name`` on an object of unknown class when our code also defines
``_name`` (the test cannot tell whose it is; give it another name). The
scanner is tested on a package written for the purpose (PROBE, last test).
"""

import ast
import functools
import importlib
import importlib.util
import inspect
import re
import sys
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "PRIVATE_NAMES.md"
PRODUCT_PACKAGES = ("config", "users", "inventory", "orders", "notifications")
PRODUCT_SCRIPTS = ("gunicorn.conf.py", "manage.py")
NOT_PRODUCT = {"tests", "migrations", "bench", "__pycache__"}
# Private in name only: Django documents the Model _meta API
# (https://docs.djangoproject.com/en/5.2/ref/models/meta/).
DOCUMENTED = frozenset({"_meta"})
# Libraries that hand our code their objects without our importing them:
# gunicorn calls gunicorn.conf.py's hooks with its server and workers.
CALLED_BY = frozenset({"gunicorn"})
# Built-ins that reach an attribute by a name in a string: getattr(x, "_name").
REFLECTION = {"getattr", "hasattr", "setattr", "delattr"}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and len(name) > 1 and name not in DOCUMENTED


# --- What a use is ---------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Use:
    file: str  # relative to the repository, as the table's File column writes it
    name: str  # the private name (a module's dotted path up to its private part)
    where: str  # the function (dotted through its classes), a class, or <module>
    line: int
    library: str  # the module that has the name, where the test can tell


@dataclass
class ClassFacts:
    """What one class of ours does with private names, from its source."""

    file: str
    module: str | None
    qualname: str | None  # None: a class defined inside a function
    defines: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    uses: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class FileFacts:
    file: str
    module: str | None
    ours: set[str]  # every name this file defines (functions, classes, variables, parameters, self.x)
    loose: list[Use]  # private names used on objects of unknown class
    imports: list[Use]  # private names imported, or private modules imported from
    classes: list[ClassFacts]
    libraries: set[str] = field(default_factory=set)  # the top-level modules it imports that are not ours


# --- Reading our source ----------------------------------------------------------------


class _Reader(ast.NodeVisitor):
    def __init__(self, file: str, module: str | None, our_packages: tuple[str, ...]) -> None:
        self.file, self.module, self.our_packages = file, module, our_packages
        self.facts = FileFacts(file, module, set(), [], [], [])
        self.scopes: list[str] = []
        self.class_path: list[str] | None = []  # None once inside a function
        # The class whose method we are in, and the names that mean its instance (self, cls).
        self.context: tuple[ClassFacts, frozenset[str]] | None = None

    def where(self) -> str:
        return ".".join(self.scopes) or "<module>"

    def use(self, name: str, line: int, library: str = "") -> Use:
        return Use(self.file, name, self.where(), line, library)

    # Definitions

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.facts.ours.add(node.name)
        for decorator in node.decorator_list:
            self.visit(decorator)
        for expr in (*node.bases, *node.keywords):
            self.visit(expr)
        qualname = ".".join([*self.class_path, node.name]) if self.class_path is not None else None
        facts = ClassFacts(self.file, self.module, qualname)
        self.facts.classes.append(facts)
        here = [*self.scopes, node.name]
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                facts.defines[statement.name].append((".".join([*here, statement.name]), statement.lineno))
            targets: list[ast.expr] = []
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
                targets = [statement.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        facts.defines[name.id].append((".".join(here), statement.lineno))
        saved = (self.scopes, self.class_path, self.context)
        self.scopes = here
        self.class_path = [*self.class_path, node.name] if self.class_path is not None else None
        self.context = None
        for statement in node.body:
            self.visit_in_class(statement, facts)
        self.scopes, self.class_path, self.context = saved

    def visit_in_class(self, statement: ast.stmt, facts: ClassFacts) -> None:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in statement.decorator_list)
            positional = [*statement.args.posonlyargs, *statement.args.args]
            me = frozenset() if static or not positional else frozenset({positional[0].arg})
            self.visit_function(statement, (facts, me))
        else:
            self.visit(statement)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        context = self.context
        if context is not None:  # a function inside a method: self is still the instance, unless rebound
            arguments = node.args
            rebound = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
            context = (context[0], context[1] - rebound)
        self.visit_function(node, context)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, context: tuple[ClassFacts, frozenset[str]] | None
    ) -> None:
        self.facts.ours.add(node.name)
        arguments = node.args
        self.visit(arguments)
        for expr in (*node.decorator_list, node.returns):
            if expr is not None:
                self.visit(expr)
        saved = (self.scopes, self.class_path, self.context)
        self.scopes, self.class_path, self.context = [*self.scopes, node.name], None, context
        for statement in node.body:
            self.visit(statement)
        self.scopes, self.class_path, self.context = saved

    def visit_arg(self, node: ast.arg) -> None:
        self.facts.ours.add(node.arg)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del):
            self.facts.ours.add(node.id)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.facts.ours.add(node.name)
        self.generic_visit(node)

    # Imports

    def ours_module(self, module: str) -> bool:
        return module.split(".")[0] in self.our_packages

    def private_module(self, module: str) -> str | None:
        """``redis._parsers`` of ``redis._parsers.hiredis``: the module's path up
        to its first private part, or None."""
        parts = module.split(".")
        for i, part in enumerate(parts):
            if is_private(part):
                return ".".join(parts[: i + 1])
        return None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not self.ours_module(alias.name):
                self.facts.libraries.add(alias.name.split(".")[0])
            if alias.asname:
                self.facts.ours.add(alias.asname)
            private = self.private_module(alias.name)
            if private and not self.ours_module(alias.name):
                self.facts.imports.append(self.use(private, node.lineno, alias.name))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        ours = node.level > 0 or self.ours_module(module)
        if not ours:
            self.facts.libraries.add(module.split(".")[0])
        for alias in node.names:
            if ours or alias.asname:
                self.facts.ours.add(alias.asname or alias.name)
            if not ours and is_private(alias.name):
                self.facts.imports.append(self.use(alias.name, node.lineno, module))
        private = self.private_module(module)
        if private and not ours:
            self.facts.imports.append(self.use(private, node.lineno, module))

    # Uses

    def on_instance(self, value: ast.expr) -> ClassFacts | None:
        """The class of ours whose instance (or class) ``value`` is: ``self``,
        ``cls`` or ``super()`` in one of its methods."""
        if self.context is None:
            return None
        facts, me = self.context
        if isinstance(value, ast.Name) and value.id in me:
            return facts
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super":
            return facts
        return None

    def attribute(self, value: ast.expr, name: str, line: int, store: bool) -> None:
        if not is_private(name):
            return
        facts = self.on_instance(value)
        if facts is None:
            self.facts.loose.append(self.use(name, line))
        elif store and not isinstance(value, ast.Call):
            facts.defines[name].append((self.where(), line))
            self.facts.ours.add(name)
        else:
            facts.uses[name].append((self.where(), line))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.attribute(node.value, node.attr, node.lineno, isinstance(node.ctx, ast.Store))
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in REFLECTION
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            self.attribute(node.args[0], node.args[1].value, node.lineno, func.id == "setattr")
        for keyword in node.keywords:
            if keyword.arg and is_private(keyword.arg):
                self.facts.loose.append(self.use(keyword.arg, node.lineno))
        self.generic_visit(node)


def module_name(root: Path, path: Path) -> str | None:
    """The dotted module of a file under a package, or None for a script."""
    relative = path.relative_to(root)
    if not (root / relative.parts[0] / "__init__.py").is_file():
        return None
    return ".".join(relative.with_suffix("").parts).removesuffix(".__init__")


def product_files(root: Path, packages: Iterable[str], scripts: Iterable[str]) -> list[Path]:
    files = [root / s for s in scripts if (root / s).is_file()]
    for package in packages:
        files += [p for p in (root / package).rglob("*.py") if not NOT_PRODUCT & set(p.relative_to(root).parts[:-1])]
    return sorted(files)


def read(root: Path, path: Path, our_packages: tuple[str, ...]) -> FileFacts:
    reader = _Reader(path.relative_to(root).as_posix(), module_name(root, path), our_packages)
    reader.visit(ast.parse(path.read_text(), filename=str(path)))
    return reader.facts


# --- What libraries have ---------------------------------------------------------------


@functools.cache
def library_sources(top_levels: frozenset[str]) -> tuple[Path, ...]:
    """The source files of the libraries our code imports (``top_levels``),
    with everything they require, and of the standard library's modules it
    imports."""
    distributions = metadata.packages_distributions()
    todo = [d for top in top_levels for d in distributions.get(top, [])]
    seen: set[str] = set()
    files: list[Path] = []
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:  # a requirement for another platform or Python
            continue
        files += [Path(str(distribution.locate_file(f))) for f in distribution.files or () if f.suffix == ".py"]
        todo += [
            re.split(r"[^A-Za-z0-9_.\-]", r, maxsplit=1)[0] for r in distribution.requires or () if "extra ==" not in r
        ]
    for top in top_levels & sys.stdlib_module_names:
        spec = importlib.util.find_spec(top)
        if spec is not None and spec.origin is not None and spec.origin.endswith(".py"):
            origin = Path(spec.origin)
            files += origin.parent.rglob("*.py") if origin.name == "__init__.py" else [origin]
    return tuple(files)


def library_has(names: Iterable[str], top_levels: frozenset[str]) -> set[str]:
    """Which of ``names`` occur in the libraries' source (as a word)."""
    names = set(names)
    if not names:
        return set()
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
    found: set[str] = set()
    for path in library_sources(top_levels):
        found.update(pattern.findall(path.read_text(errors="ignore")))
    return found


@functools.cache
def class_has(cls: type) -> frozenset[str]:
    """The private names a library class has: in its ``__dict__`` or
    ``__slots__``, and those its own source defines or sets on ``self``/``cls``."""
    names = {n for n in vars(cls) if is_private(n)}
    slots = vars(cls).get("__slots__", ())
    names |= {slots} if isinstance(slots, str) else set(slots)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return frozenset(names)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return frozenset(n for n in names if is_private(n))


# --- Finding the uses ------------------------------------------------------------------


def find_class(facts: ClassFacts) -> type | None:
    """The class, or None: defined in a function or a script, or taken away
    by a metaclass (a model's ``Meta``)."""
    if facts.module is None or facts.qualname is None:
        return None
    found: Any = importlib.import_module(facts.module)
    for part in facts.qualname.split("."):
        found = getattr(found, part, None)
    return found if isinstance(found, type) else None


def class_uses(
    facts: ClassFacts, of_ours: dict[tuple[str | None, str | None], ClassFacts], our_modules: set[str]
) -> Iterator[Use]:
    """The private names of libraries that ``facts``'s class reaches through
    ``self`` — in its own methods and in those of the classes of ours it
    inherits (a mixin's ``self._x`` is the library's once a library class
    joins the MRO)."""
    cls = find_class(facts)
    if cls is None:
        if any(is_private(n) for n in (*facts.defines, *facts.uses)):
            raise AssertionError(
                f"{facts.file}: class {facts.qualname or '(in a function)'} uses private names, and this test"
                " cannot find it to resolve its bases: define it at a module's top level"
            )
        return
    ours = [f for k in cls.__mro__ if (f := of_ours.get((k.__module__, k.__qualname__))) is not None]
    libraries = [k for k in cls.__mro__ if k.__module__ not in our_modules and k is not object]
    if not libraries:
        return
    defined_by_us = {name for f in ours for name in f.defines}
    for mine in ours:
        for name in sorted(n for n in (*mine.defines, *mine.uses) if is_private(n)):
            owner = next((k for k in libraries if name in class_has(k)), None)
            if owner is not None and (name in mine.defines or name not in defined_by_us):
                library = f"{owner.__module__}.{owner.__qualname__}"
            elif name in mine.uses and name not in defined_by_us:
                library = f"somewhere above {libraries[0].__module__}.{libraries[0].__qualname__}"
            else:
                continue
            for where, line in (*mine.defines.get(name, ()), *mine.uses.get(name, ())):
                yield Use(mine.file, name, where, line, library)


def find_uses(root: Path, packages: tuple[str, ...], scripts: tuple[str, ...]) -> list[Use]:
    files = [read(root, path, packages) for path in product_files(root, packages, scripts)]
    ours = set().union(*(f.ours for f in files))
    for f in files:
        for c in f.classes:
            ours |= set(c.defines)
    top_levels = frozenset(CALLED_BY.union(*(f.libraries for f in files)))
    candidates = {u.name for f in files for u in f.loose if u.name not in ours}
    theirs = library_has(candidates, top_levels)
    of_ours: dict[tuple[str | None, str | None], ClassFacts] = {
        (c.module, c.qualname): c for f in files for c in f.classes if c.module and c.qualname
    }
    our_modules = {f.module for f in files if f.module}
    uses: list[Use] = []
    for f in files:
        uses += f.imports
        uses += [u for u in f.loose if u.name not in ours and u.name in theirs]
        for c in f.classes:
            uses += class_uses(c, of_ours, our_modules)
    return sorted(set(uses))


@functools.cache
def product_uses() -> tuple[Use, ...]:
    return tuple(find_uses(ROOT, PRODUCT_PACKAGES, PRODUCT_SCRIPTS))


def by_row(uses: Iterable[Use]) -> dict[tuple[str, str], list[Use]]:
    rows: dict[tuple[str, str], list[Use]] = defaultdict(list)
    for use in uses:
        rows[use.file, use.name].append(use)
    return rows


# --- Reading the table -----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    library: str
    name: str
    file: str
    where: tuple[str, ...]
    buys: str
    tests: tuple[str, ...]  # the file::test references
    test_cell: str  # the references, or "none yet"


def cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def table_rows(text: str) -> list[Row]:
    """The rows of the one table whose header names "Private name"."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|") and "Private name" in line)
    header = [c.lower() for c in cells(lines[start])]
    column = {
        key: next(i for i, name in enumerate(header) if name.startswith(key))
        for key in ("library", "private name", "file", "where", "what it buys", "test")
    }
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        row = cells(line)
        (name,), (file,) = ticked(row[column["private name"]]), ticked(row[column["file"]])
        rows.append(
            Row(
                library=row[column["library"]],
                name=name,
                file=file,
                where=tuple(ticked(row[column["where"]])),
                buys=row[column["what it buys"]],
                tests=tuple(t for t in ticked(row[column["test"]]) if "::" in t),
                test_cell=row[column["test"]],
            )
        )
    return rows


def table() -> list[Row]:
    return table_rows(TABLE.read_text())


def suggested_row(uses: list[Use]) -> str:
    first = uses[0]
    where = ", ".join(f"`{w}`" for w in sorted({u.where for u in uses}))
    lines = ", ".join(str(u.line) for u in uses)
    return f"| {first.library or '?'} | `{first.name}` | `{first.file}` | {where} | ? | ? |   <- line {lines}"


# --- The tests -------------------------------------------------------------------------


def test_every_private_use_is_in_the_table_and_every_row_is_a_use() -> None:
    found = by_row(product_uses())
    listed = {(row.file, row.name) for row in table()}
    missing = sorted(set(found) - listed)
    stale = sorted(listed - set(found))
    message = []
    if missing:
        message.append(
            "Private names used but not in docs/PRIVATE_NAMES.md (add a row, or use a public API):\n"
            + "\n".join(suggested_row(found[key]) for key in missing)
        )
    if stale:
        message.append(
            "Rows of docs/PRIVATE_NAMES.md whose use is gone (remove them, or fix File/Private name):\n"
            + "\n".join(f"  {file}: {name}" for file, name in stale)
        )
    assert not message, "\n\n".join(message)


def test_each_row_names_each_function_that_uses_the_name() -> None:
    found = by_row(product_uses())
    wrong = [
        f"{row.file} {row.name}: Where says {sorted(row.where)}, the code has {sorted({u.where for u in uses})}"
        for row in table()
        if (uses := found.get((row.file, row.name))) and set(row.where) != {u.where for u in uses}
    ]
    assert not wrong, "\n".join(wrong)


def test_one_row_per_file_and_name_each_saying_what_it_buys_and_which_test_breaks() -> None:
    rows = table()
    keys = [(row.file, row.name) for row in rows]
    assert len(keys) == len(set(keys)), "a (file, private name) pair is listed twice"
    for row in rows:
        assert row.library and row.buys, f"{row.file} {row.name}: Library and What it buys must say something"
        assert row.tests or "none yet" in row.test_cell, (
            f"{row.file} {row.name}: name a test (file::test) or say none yet"
        )


def test_the_tests_the_table_names_exist() -> None:
    wrong = []
    for row in table():
        for reference in row.tests:
            path, _, names = reference.partition("::")
            source = ROOT / path
            parts = [re.sub(r"\[.*\]$", "", n) for n in names.split("::") if n]
            if not source.is_file() or not parts:
                wrong.append(f"{row.file} {row.name}: no test file {reference}")
                continue
            scope: list[ast.stmt] = ast.parse(source.read_text()).body
            for part in parts:
                node = next(
                    (
                        n
                        for n in scope
                        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n.name == part
                    ),
                    None,
                )
                if node is None:
                    wrong.append(f"{row.file} {row.name}: no test {reference}")
                    break
                scope = node.body if isinstance(node, ast.ClassDef) else []
    assert not wrong, "\n".join(wrong)


# The scanner itself, on a package written for the purpose: each kind of use
# is found, and our own private names are not.

PROBE = """
from django.db.models.query import QuerySet
from django.views.generic import View
from redis._parsers import _HiredisParser
from django.db.models.base import _has_contribute_to_class
import redis._parsers.hiredis


def _helper(request):
    request._gcra_decisions = {}
    request._our_flag = True
    ours = Plain()._clone()  # a name of ours (Plain) that a library has too: taken as ours
    return request._request, getattr(request, "_files", None), _helper, ours


class Cached(QuerySet):
    def first_cached(self):
        return self._result_cache

    def our_own(self):
        self._mine = 1
        return self._mine, self._helper_method()

    def _helper_method(self):
        return super()._clone()


class Listing(View):
    def _allowed_methods(self):
        return ["GET"]

    def own_view(self):
        if not hasattr(self, "_mine_too"):
            self._mine_too = True
        return self._mine_too


class Unknown(View):
    def get(self, request):
        return self._set_by_someone_else


class OwnMixin:
    def _allowed_methods(self):
        return ["GET"]


class Mixed(OwnMixin, View):
    pass


class Plain:  # defines names QuerySet has too: through self in Cached they are still QuerySet's
    def __init__(self):
        self._result_cache = None

    def _clone(self):
        return self
"""


def test_the_scanner_finds_every_kind_of_private_use_and_none_of_ours(tmp_path: Path) -> None:
    package = tmp_path / "privatenamesprobe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "probe.py").write_text(PROBE)
    sys.path.insert(0, str(tmp_path))
    try:
        found = {(u.name, u.where) for u in find_uses(tmp_path, ("privatenamesprobe",), ())}
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("privatenamesprobe")]:
            del sys.modules[name]
    assert found == {
        ("redis._parsers", "<module>"),  # from a private module, twice
        ("_HiredisParser", "<module>"),  # a private name imported
        ("_has_contribute_to_class", "<module>"),
        ("_request", "_helper"),  # on an object of unknown class
        ("_files", "_helper"),  # through getattr
        ("_result_cache", "Cached.first_cached"),  # inherited from QuerySet
        ("_clone", "Cached._helper_method"),  # through super()
        ("_allowed_methods", "Listing._allowed_methods"),  # an override of View's
        ("_set_by_someone_else", "Unknown.get"),  # ours to define or theirs: not known, so listed
        ("_allowed_methods", "OwnMixin._allowed_methods"),  # a mixin's method, View's once mixed in
    }

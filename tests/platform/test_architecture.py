"""The shape of the code: layers that import one way, side effects only through the outbox, small
modules, and an event table that matches the code.

The layer check is a small AST scan rather than import-linter. The order puts one sub-package
(`xmplatform.core`) at the bottom and the rest of its parent package (`xmplatform`) at the top;
import-linter's layers contract works on whole packages, so the top would have to be a forbidden
list naming each module of `xmplatform` but core, and a module added later would slip past it.
Ranking every imported name by its prefix covers modules not yet written, also sees
`import_string("…")` with a literal path (import-linter does not), and names the file and line.
Checking each direct import is enough: if none goes up, no chain of them can. It costs no
dependency and runs in about a second.
"""

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from django.utils.module_loading import import_string

from xmplatform.flows import HANDLERS

ROOT = Path(__file__).resolve().parents[2]
APPS = ("xmplatform", "audiences", "journeys", "surveys", "metrics")
# Lowest first. A module may import its own layer and those below it, never one above.
LAYERS = ("xmplatform.core", "audiences", "journeys", "surveys", "metrics", "xmplatform")
MAX_LINES = 600
# The one place allowed to wake a worker after commit: the outbox relay's wake.
OUTBOX = "xmplatform/core/outbox.py"
ENQUEUE = frozenset({"delay", "apply_async", "delay_on_commit", "send_task"})
REGISTRY = re.compile(r"(un)?register_\w*listener")
README_EVENTS = re.compile(r"<!-- outbox-events -->\n(.*?)<!-- /outbox-events -->", re.S)


def sources(*packages: str, migrations: bool = True) -> list[Path]:
    files = sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))
    return [path for path in files if migrations or "migrations" not in path.parts]


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def rank(module: str) -> int | None:
    """The layer of a dotted name (None: not a platform module)."""
    if module == "xmplatform.core" or module.startswith("xmplatform.core."):
        return 0
    top = module.split(".", 1)[0]
    return LAYERS.index(top) if top in LAYERS else None


def absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module a `from … import` names, relative imports resolved against `path`."""
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    anchor = package[: len(package) - (node.level - 1)]
    return ".".join([*anchor, node.module] if node.module else anchor)


def called(node: ast.AST) -> str:
    """The name a call calls (`f(…)` and `x.f(…)` both give "f"), or "" for anything else."""
    if not isinstance(node, ast.Call):
        return ""
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def imported(path: Path) -> Iterator[tuple[ast.AST, str]]:
    """Every name `path` imports (at any depth, in functions too), as absolute dotted names, and
    every literal path it hands to import_string / import_module."""
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = absolute(path, node)
            for alias in node.names:
                yield node, f"{base}.{alias.name}"
        elif called(node) in ("import_string", "import_module") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node, first.value


def test_no_import_goes_from_a_lower_layer_to_a_higher_one():
    upward = []
    for path in sources(*APPS):
        own = rank(module_name(path))
        assert own is not None, path
        for node, name in imported(path):
            target = rank(name)
            if target is not None and target > own:
                upward.append(f"{where(path, node)} {module_name(path)} imports {name}")
    assert upward == []


def test_the_layer_check_sees_relative_nested_and_string_imports(tmp_path, monkeypatch):
    """The scan itself: a relative import, one inside a function and an import_string path."""
    package = tmp_path / "surveys"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "thing.py").write_text(
        "from . import models\n"
        "def f():\n"
        "    from metrics.selectors import scores\n"
        "    return import_string('xmplatform.api.handlers.x')\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    names = [name for _node, name in imported(package / "thing.py")]
    assert names == ["surveys.models", "metrics.selectors.scores", "xmplatform.api.handlers.x"]
    assert [rank(name) for name in names] == [3, 4, 5]
    assert rank("xmplatform.core.outbox") == 0 and rank("django.db") is None


# --- Side effects between apps go through the outbox ----------------------------------------


def enqueues(expr: ast.AST, functions: dict[str, list[ast.AST]]) -> bool:
    """Whether the on_commit callable `expr` (a lambda, a partial, a function of the same
    module) enqueues a Celery task."""
    seen: set[str] = set()
    pending = [expr]
    while pending:
        for node in ast.walk(pending.pop()):
            if isinstance(node, ast.Attribute) and node.attr in ENQUEUE:
                return True
            if isinstance(node, ast.Name) and node.id in functions and node.id not in seen:
                seen.add(node.id)
                pending.extend(functions[node.id])
    return False


def enqueued_after_commit(path: Path) -> list[ast.Call]:
    """The calls of `path` that enqueue a task after commit: `on_commit(callable)` whose
    callable enqueues, and Celery's `delay_on_commit`."""
    module = tree(path)
    functions: dict[str, list[ast.AST]] = {}
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.setdefault(node.name, []).append(node)
    return [
        node
        for node in ast.walk(module)
        if isinstance(node, ast.Call)
        and (
            called(node) == "delay_on_commit"
            or (called(node) == "on_commit" and any(enqueues(a, functions) for a in node.args))
        )
    ]


def test_no_task_is_enqueued_after_commit_but_the_outbox_wake():
    found = [
        where(path, node)
        for path in sources(*APPS, migrations=False)
        if str(path.relative_to(ROOT)) != OUTBOX
        for node in enqueued_after_commit(path)
    ]
    assert found == []


def test_the_after_commit_check_follows_lambdas_partials_and_local_functions(tmp_path):
    path = tmp_path / "services.py"
    path.write_text(
        "def later():\n"
        "    def enqueue():\n"
        "        task.apply_async(retry=False)\n"
        "    transaction.on_commit(enqueue)\n"  # line 4
        "    transaction.on_commit(lambda: task.delay(1))\n"  # line 5
        "    transaction.on_commit(partial(task.delay, 1))\n"  # line 6
        "    task.delay_on_commit(1)\n"  # line 7
        "    transaction.on_commit(lambda: record(1))\n"  # a plain function: allowed
        "    task.delay(1)\n"  # not after commit: allowed
    )
    assert sorted(node.lineno for node in enqueued_after_commit(path)) == [4, 5, 6, 7]


def test_there_is_no_listener_registry():
    found = [
        str(path.relative_to(ROOT))
        for path in sources(*APPS, migrations=False)
        if path.name in ("hooks.py", "listeners.py")
    ]
    for path in sources(*APPS, migrations=False):
        for node in ast.walk(tree(path)):
            name = getattr(node, "name", None) or getattr(node, "id", None) or ""
            if isinstance(node, ast.Attribute):
                name = node.attr
            if isinstance(name, str) and REGISTRY.search(name):
                found.append(f"{where(path, node)} {name}")
    assert found == []


# --- Small modules ----------------------------------------------------------------------------


def test_no_module_is_over_six_hundred_lines():
    """Migrations aside, in the apps, the tests and the benchmarks alike."""
    long = [
        f"{path.relative_to(ROOT)} {lines}"
        for path in sources(*APPS, "tests", "bench", migrations=False)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert long == []


# --- The event table: code, xmplatform/flows.py and the README agree ------------------------


def module_path(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def text_value(path: Path, expr: ast.AST | None, hops: int = 3) -> str | None:
    """The text `expr` stands for: a literal, or a module-level constant of `path` or of the
    module it is imported from (None: anything else)."""
    if isinstance(expr, ast.Constant):
        return expr.value if isinstance(expr.value, str) else None
    if not isinstance(expr, ast.Name) or hops == 0:
        return None
    for node in tree(path).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == expr.id for t in targets):
                return text_value(path, node.value, hops - 1)
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                source = module_path(absolute(path, node))
                if (alias.asname or alias.name) == expr.id and source is not None:
                    return text_value(source, ast.Name(id=alias.name), hops - 1)
    return None


def emitted() -> dict[str, list[str]]:
    """Event name → where it is emitted: `outbox_emit(event, …)`, or an outbox row written
    directly (`OutboxMessage(event=…)`) outside the outbox itself. An event given by anything
    but a literal or a module constant is listed under "?": no table can be checked against it."""
    events: dict[str, list[str]] = {}
    for path in sources(*APPS, migrations=False):
        if path.is_relative_to(ROOT / "xmplatform" / "core"):
            continue
        for node in ast.walk(tree(path)):
            if not isinstance(node, ast.Call):
                continue
            name = called(node)
            if name == "outbox_emit":
                expr = node.args[0] if node.args else None
            elif name == "OutboxMessage":
                keywords = {k.arg: k.value for k in node.keywords}
                expr = keywords.get("event")
            else:
                continue
            event = text_value(path, expr) or "?"
            events.setdefault(event, []).append(where(path, node))
    return events


def test_every_emitted_event_has_handlers_and_every_listed_event_is_emitted():
    events = emitted()
    assert {event: at for event, at in events.items() if event not in HANDLERS} == {}
    assert sorted(set(HANDLERS) - set(events)) == []


def test_the_event_scan_reads_constants_and_rows_written_directly(tmp_path, monkeypatch):
    package = tmp_path / "metrics"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "events.py").write_text('OPENED = "alert.opened"\n')
    (package / "alerts.py").write_text(
        "from .events import OPENED\n"
        "CHANGED: str = 'case.changed'\n"
        "outbox_emit(OPENED, alert_id=1)\n"
        "outbox_emit(CHANGED, case_id=1)\n"
        "OutboxMessage(event='response.completed', handler='h')\n"
        "outbox_emit(kind, person_id=1)\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert emitted() == {
        "alert.opened": ["metrics/alerts.py:3"],
        "case.changed": ["metrics/alerts.py:4"],
        "response.completed": ["metrics/alerts.py:5"],
        "?": ["metrics/alerts.py:6"],
    }


def test_the_outbox_reads_the_table_of_flows(settings):
    assert settings.OUTBOX_HANDLERS == "xmplatform.flows.HANDLERS"


@pytest.mark.parametrize(
    "path", sorted({path for paths in HANDLERS.values() for path in paths}), ids=str
)
def test_every_handler_imports_and_is_callable(path):
    assert callable(import_string(path))


def readme_events() -> dict[str, list[str]]:
    """Event → handlers, from the README's table between the outbox-events markers."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = README_EVENTS.search(text)
    assert block is not None, "README.md has no <!-- outbox-events --> table"
    rows = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header == ["Event", "Payload", "Emitted by", "Handled by"]
    table: dict[str, list[str]] = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 4, row
        event = re.fullmatch(r"`([\w.]+)`", cells[0])
        assert event is not None, f"the event cell is one name in backticks: {row}"
        assert event.group(1) not in table, f"{event.group(1)} is listed twice"
        table[event.group(1)] = re.findall(r"`([\w.]+)`", cells[3])
    return table


def test_the_readme_lists_exactly_the_events_and_handlers_of_flows():
    assert readme_events() == {event: list(paths) for event, paths in HANDLERS.items()}

"""The library's shape: imports flow one way (data -> models/losses -> trainers ->
evaluation -> analysis -> course/CLI), without cycles, and sit at the top of each module
except where a dependency is optional or the CLI loads a command lazily; the method's core
never imports the analysis or the course; no code outside methods.py tests a method's name
(equal to it, or how it begins or ends); the trainers' functions are short enough to read at
a glance."""
import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "d2rl_lib"
# what a function may import: GUI/notebook tools a plain `import d2rl_lib...` must not need,
# and the profilers of the benchmarks
OPTIONAL = ("IPython", "ipywidgets", "nbformat", "papermill", "torch.profiler")


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _target(module: str, path: Path, node: ast.ImportFrom, name: str) -> str:
    """The d2rl_lib module an ``from ... import name`` reads (``name`` itself if a submodule)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
    candidate = ".".join(base + [name])
    return candidate if _exists(candidate) else ".".join(base)


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    root = PACKAGE / rel
    return root.with_suffix(".py").is_file() or (root / "__init__.py").is_file()


def _imports(tree: ast.AST, module: str, path: Path):
    """(d2rl_lib modules imported at module level, [(function, import text)] inside functions)."""
    top, inner = set(), []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            top.update(_target(module, path, node, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("d2rl_lib"):
            top.update(_target(module, path, ast.ImportFrom(module=node.module[9:] or None, level=1),
                               a.name) for a in node.names)
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for n in ast.walk(fn):
                if isinstance(n, ast.Import):
                    inner += [(fn.name, a.name, ast.unparse(n)) for a in n.names]
                elif isinstance(n, ast.ImportFrom):
                    inner.append((fn.name, "." * n.level + (n.module or ""), ast.unparse(n)))
    return top, inner


GRAPH, INNER = {}, {}
for _name, _path in _modules():
    GRAPH[_name], INNER[_name] = _imports(ast.parse(_path.read_text()), _name, _path)


def test_the_module_graph_has_no_cycle():
    graph = {m: {t for t in deps if t != m} for m, deps in GRAPH.items()}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        pytest.fail(f"import cycle: {' -> '.join(e.args[1])}")
    # the direction of the lesson: nothing below the trainers imports them or what uses them
    rank = {m: i for i, m in enumerate(order)}
    assert (rank["d2rl_lib.data.loading"] < rank["d2rl_lib.training.ti"] < rank["d2rl_lib.training.joint"]
            < rank["d2rl_lib.training.run"])
    assert rank["d2rl_lib.training.ti"] < rank["d2rl_lib.training.ti_stage"] < rank["d2rl_lib.training.run"]
    assert rank["d2rl_lib.models.translation"] < rank["d2rl_lib.training.ti"]
    above = ("d2rl_lib.training", "d2rl_lib.analysis", "d2rl_lib.course", "d2rl_lib.cli")
    for low in ("d2rl_lib.config", "d2rl_lib.methods", "d2rl_lib.data", "d2rl_lib.models",
                "d2rl_lib.losses", "d2rl_lib.evaluation"):
        for m in (m for m in GRAPH if m == low or m.startswith(low + ".")):
            upward = {t for t in GRAPH[m] if t.startswith(above)}
            assert not upward, f"{m} imports {upward}"


def test_the_core_never_imports_the_analysis_or_the_course():
    outer = ("d2rl_lib.analysis", "d2rl_lib.course", "d2rl_lib.cli")
    core = [m for m in GRAPH if m not in ("d2rl_lib", "d2rl_lib.__main__") and not m.startswith(outer)]
    assert "d2rl_lib.training.run" in core and "d2rl_lib.evaluation.trained" in core
    leaks = {m: sorted(t for t in GRAPH[m] if t.startswith(outer)) for m in core}
    assert not any(leaks.values()), {m: t for m, t in leaks.items() if t}


def _constants(node: ast.AST) -> list:
    """The constants of ``node``, or of the tuple, list or set it writes out."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [c.value for c in items if isinstance(c, ast.Constant)]


def _names_piece(call: ast.Call, names) -> bool:
    """``s.startswith("d2rl")`` / ``s.endswith("-oracle")``: a string of three characters or
    more (not ``"|"`` or ``"s"``) that begins (ends) a method's name."""
    if not (isinstance(call.func, ast.Attribute) and call.func.attr in ("startswith", "endswith")
            and call.args):
        return False
    pieces = [c for c in _constants(call.args[0]) if isinstance(c, str) and len(c) >= 3]
    return any(getattr(n, call.func.attr)(c) for n in names for c in pieces)


def _method_name_tests(tree: ast.AST, names) -> list:
    """``x == "d2rl"``-like comparisons (==, !=, in, not in) against a method's name, and
    ``x.startswith("d2rl")``-like tests of how one begins or ends."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            if any(c in names for side in [node.left, *node.comparators] for c in _constants(side)
                   if isinstance(c, str)):
                found.append(ast.unparse(node))
        elif isinstance(node, ast.Call) and _names_piece(node, names):
            found.append(ast.unparse(node))
    return found


def test_no_code_outside_methods_py_tests_a_method_name():
    from d2rl_lib.methods import METHOD_NAMES
    for seen in ('if cfg.method == "d2rl": pass', 'kind = name.startswith("d2rl")',
                 'm in ("unify-ir", "x")', 'name.endswith(("-oracle", "-x"))'):
        assert _method_name_tests(ast.parse(seen), METHOD_NAMES), seen     # it sees each
    for unseen in ('name.startswith(("D_v.", "D_i."))', 'line.startswith("|")', 's.endswith("e")'):
        assert not _method_name_tests(ast.parse(unseen), METHOD_NAMES), unseen
    found = {str(path.relative_to(PACKAGE)): _method_name_tests(ast.parse(path.read_text()), METHOD_NAMES)
             for path in PACKAGE.rglob("*.py") if path.name != "methods.py"}
    assert not any(found.values()), {p: f for p, f in found.items() if f}


def test_the_trainers_functions_are_short():
    long = []
    for path in sorted((PACKAGE / "training").glob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, ast.FunctionDef) and fn.end_lineno - fn.lineno + 1 > 50:
                long.append(f"{path.name}:{fn.name} ({fn.end_lineno - fn.lineno + 1} lines)")
    assert not long, long


def test_imports_sit_at_the_top_of_modules():
    found = [f"{m}.{fn}: {text}" for m, items in INNER.items() if not m.startswith("d2rl_lib.cli")
             for fn, source, text in items
             if not any(source == o or source.startswith(o + ".") for o in OPTIONAL)]
    assert not found, "function-level imports outside the CLI:\n" + "\n".join(found)


def test_the_test_sees_a_cycle():
    """The checker itself: a made-up cycle is reported."""
    graph = {"a": {"b"}, "b": {"a"}}
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter(graph).static_order())

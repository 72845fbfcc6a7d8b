"""The library's shape: imports flow one way (data -> models/losses -> trainers ->
evaluation -> notebooks/CLI), without cycles, and sit at the top of each module except
where a dependency is optional or the CLI loads a command lazily."""
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
    assert rank["d2rl_lib.data.loading"] < rank["d2rl_lib.train_ti"] < rank["d2rl_lib.train_tf"]
    assert rank["d2rl_lib.models.translation"] < rank["d2rl_lib.train_ti"]
    for low in ("d2rl_lib.config", "d2rl_lib.data", "d2rl_lib.models", "d2rl_lib.losses", "d2rl_lib.evaluate"):
        for m in (m for m in GRAPH if m == low or m.startswith(low + ".")):
            upward = {t for t in GRAPH[m] if t.startswith(("d2rl_lib.train_", "d2rl_lib.notebook", "d2rl_lib.cli"))}
            assert not upward, f"{m} imports {upward}"


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

"""The package's layout rules, read from the source with ``ast`` (see "Where things are" in the README).

- no import circle between modules of ``autoops`` (imports inside functions count too: hiding a
  circle in a function does not remove it);
- engines (``envs``, ``planning``, ``optimizer``, ``responder``) know nothing of the agents or of
  serving HTTP; agents know nothing of the services or URLs; ``api/main.py`` only wires;
- no module but ``paths.py`` computes a folder from ``__file__`` by climbing parents, and no module
  but ``settings.py`` reads an ``AUTOOPS_*`` variable;
- the README lists every setting.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from autoops import paths
from autoops.settings import variables

PACKAGE = paths.PACKAGE_DIR
ENGINES = ("autoops.envs", "autoops.planning", "autoops.optimizer", "autoops.responder")
# (an engine may be an HTTP client of a model API, as the responder's ``openai`` backend is)
SERVICE_WORDS = ("autoops.api", "autoops.agents", "autoops.system", "fastapi", "starlette", "uvicorn")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, known: set[str]) -> set[str]:
    """The autoops modules ``path`` imports, anywhere in the file (``from x import y`` counts y when
    y is a module, else x)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, set(known)) - {name} for name, path in known.items()}


def test_no_import_circles():
    graph = import_graph()
    # Tarjan's strongly connected components: any component of more than one module is a circle
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


def test_the_circle_check_finds_a_circle(tmp_path, monkeypatch):
    """The check above can fail: two modules that import each other, one inside a function."""
    package = tmp_path / "autoops"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from autoops import b\n")
    (package / "b.py").write_text("def f():\n    from autoops.a import x\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    with pytest.raises(AssertionError, match="import circles"):
        test_no_import_circles()


@pytest.mark.parametrize("layer, forbidden", [(engine, SERVICE_WORDS) for engine in ENGINES]
                         + [("autoops.agents", ("autoops.api", "autoops.system", "fastapi", "starlette", "httpx", "uvicorn"))])
def test_layers(layer, forbidden):
    graph_words = {}
    for name, path in modules().items():
        if name == layer or name.startswith(layer + "."):
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
            names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
            names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
            bad = sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))
            if bad:
                graph_words[name] = bad
    assert not graph_words, f"{layer} must not import {', '.join(forbidden)}: {graph_words}"


def test_only_paths_climbs_from_file_and_only_settings_reads_the_environment():
    climbing = re.compile(r"__file__\)?(\.resolve\(\))?\.parents\[|__file__\)?(\.resolve\(\))?\.parent\.parent")
    environment = re.compile(r"""(environ(\.get)?\(|environ\[|getenv\()\s*f?["']AUTOOPS_""")
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if name != "autoops.paths":
            assert not climbing.search(text), f"{path}: find folders with autoops.paths, not by climbing from __file__"
        if name != "autoops.settings":
            assert not environment.search(text), f"{path}: read AUTOOPS_* variables through autoops.settings"


def test_main_only_wires():
    tree = ast.parse((PACKAGE / "api" / "main.py").read_text())
    routes = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in ("get", "post", "put", "delete")
              and isinstance(n.value, ast.Name) and n.value.id in ("app", "api")]
    assert not routes, "api/main.py declares routes; they belong in a router module"


def test_readme_lists_every_setting():
    readme = (PACKAGE.parent / "README.md").read_text()
    missing = [v["name"] for v in variables() if f"`{v['name']}`" not in readme]
    assert not missing, f"README's settings table lacks {missing}"

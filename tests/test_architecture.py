"""The dependency direction of docs/architecture.md holds: every import inside hirl/ (module level, inside a function,
under `if TYPE_CHECKING:`, or an importlib load of a literal module name) goes to the same subpackage or to a lower
layer, learn / rl never import eval (nor eval them), and no module imports itself back through others, inside a
package either. Registry entries declared lazily as "module:attr" strings are names, not imports: each must name an
existing module attribute."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "hirl"

# subpackage / top-level module (or a sub-subpackage, dotted) -> layer; imports may only go to the same unit or a lower
# layer. A module's unit is the longest key its dotted name starts with ("hirl.teleop.ui.server" -> "teleop.ui").
LAYERS: dict[str, int] = {
    "types": 0, "errors": 0, "fileio": 0, "registry": 0, "safeyaml": 0, "config": 0, "version": 0, "devices": 0, "plugins": 0,
    "weights": 1, "curriculum": 1,
    "encoders": 2,
    "policies": 3,
    "hierarchy": 4,
    "wrappers": 5, "tracking": 5,
    "integrations": 6,
    "adapters": 7,
    "runs": 8,
    "data": 9,
    "learn": 10, "rl": 10, "eval": 10,
    "teleop.sessions": 11, "skills": 11, "export": 11,
    "teleop.ui": 12, "teleop": 12,  # the UI of the sessions above them; "teleop": the package's docstring-only __init__
    "configs": 13, "commands": 13, "cli": 13, "benchmarks": 13,
    "__init__": 14,
}
APART = {frozenset({"learn", "eval"}), frozenset({"rl", "eval"})}  # same layer, never importing each other


def unit_of(module: str) -> str:
    """'hirl.policies.low.bc' -> 'policies'; 'hirl.teleop.ui.server' -> 'teleop.ui'; 'hirl' -> '__init__'."""
    parts = module.split(".")[1:]
    units = [".".join(parts[:k]) for k in range(len(parts), 0, -1) if ".".join(parts[:k]) in LAYERS]
    return units[0] if units else parts[0] if parts else "__init__"


LAZY_TARGET = re.compile(r"hirl(\.\w+)+:\w+(\.\w+)*")  # a registry entry declared by name ("module:attr")


def module_of(path: Path) -> str:
    """hirl/policies/low/bc.py -> 'hirl.policies.low.bc'; hirl/runs/__init__.py -> 'hirl.runs'."""
    return ("hirl." + ".".join(path.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")


MODULES = {module_of(p): p for p in ROOT.rglob("*.py")} | {"hirl": ROOT / "__init__.py"}


def _loads_by_name(tree: ast.AST) -> bool:
    """True when the module calls importlib.import_module / __import__ (its literal module names count as imports)."""
    return any(isinstance(n, ast.Call) and (getattr(n.func, "attr", None) == "import_module"
                                            or getattr(n.func, "id", None) in ("import_module", "__import__"))
               for n in ast.walk(tree))


def imports_of(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, imported hirl module) for every import in the file (its text: source, default read from path), wherever
    it stands: import statements (the submodule for `from package import submodule`) and, in a module that loads
    modules by name, every string literal naming a hirl module (or a "module:attr" in it)."""
    module = module_of(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    by_name = _loads_by_name(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name == "hirl" or a.name.startswith("hirl.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == "hirl" or name.startswith("hirl."):
                out += [(node.lineno, f"{name}.{a.name}" if f"{name}.{a.name}" in MODULES else name) for a in node.names]
        elif by_name and isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value.partition(":")[0]
            if name != "hirl" and name in MODULES:
                out.append((node.lineno, name))
    return out


def violations() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        src = unit_of(module_of(path))
        assert src in LAYERS, f"{rel}: unit {src!r} has no layer in this test (add it to LAYERS and docs/architecture.md)"
        for line, target in imports_of(path):
            dst = unit_of(target)
            if dst == src or dst not in LAYERS:
                continue
            if LAYERS[dst] > LAYERS[src] or frozenset({src, dst}) in APART:
                found.append(f"hirl/{rel}:{line}: {src} imports {target} ({dst})")
    return found


def unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        src = unit_of(module_of(path))
        graph.setdefault(src, set()).update(d for d in (unit_of(t) for _, t in imports_of(path)) if d != src)
    return graph


def test_no_import_cycle_between_subpackages():
    graph, state, cycles = unit_graph(), {}, []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]) if nxt in stack else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for unit in sorted(graph):
        if unit not in state:
            visit(unit, [unit])
    assert cycles == []


def test_imports_follow_the_layers():
    assert violations() == []


def module_cycles() -> list[list[str]]:
    """The import cycles between modules (strongly connected components of more than one module), sorted."""
    graph = {m: {t for _, t in imports_of(p) if t in MODULES and t != m} for m, p in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            connect(module)
    return sorted(cycles)


def test_no_import_cycle_between_modules():
    """Inside a package too: a cycle through function-level or type-only imports is still a cycle."""
    assert module_cycles() == []


def test_the_import_scan_sees_importlib_loads_and_type_only_imports():
    """The old run catalog's pattern (module names in a tuple, imported in a loop) and a type-only import count."""
    source = ("import importlib\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hirl.runs import agents\n"
              "MODULES = ('hirl.learn.components', 'hirl.rl.components:RLKind')\n"
              "def load():\n    for name in MODULES:\n        importlib.import_module(name)\n")
    found = {t for _, t in imports_of(ROOT / "runs" / "probe.py", source)}
    assert found == {"hirl.runs.agents", "hirl.learn.components", "hirl.rl.components"}


def lazy_targets() -> list[tuple[str, int, str]]:
    """(file, line, "module:attr") of every registry entry declared by name in hirl/."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if _loads_by_name(tree):
            continue  # a loader's names are imports (imports_of), not declarations
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and LAZY_TARGET.fullmatch(node.value):
                out.append((str(path.relative_to(ROOT)), node.lineno, node.value))
            elif isinstance(node, ast.JoinedStr):  # f"{_LEARN}:LowLanguage": resolved through the module's constants
                consts = {t.id: v.value for n in tree.body
                          if isinstance(n, ast.Assign) and isinstance(v := n.value, ast.Constant)
                          for t in n.targets if isinstance(t, ast.Name)}
                parts = [v.value if isinstance(v, ast.Constant) else consts.get(getattr(v.value, "id", ""), "?")
                         for v in node.values]
                text = "".join(str(p) for p in parts)
                if LAZY_TARGET.fullmatch(text):
                    out.append((str(path.relative_to(ROOT)), node.lineno, text))
    return out


def test_every_lazy_registry_entry_names_an_existing_attribute():
    targets = lazy_targets()
    assert len(targets) >= 40  # the run registries' built-ins (hirl/runs/catalog.py) and the RL stages
    missing = []
    for where, line, target in targets:
        module, _, attr = target.partition(":")
        path = MODULES.get(module)
        top = attr.split(".")[0]
        defined = set() if path is None else {
            n.name if isinstance(n, (ast.ClassDef, ast.FunctionDef)) else t.id
            for n in ast.parse(path.read_text(encoding="utf-8")).body
            for t in ([n] if isinstance(n, (ast.ClassDef, ast.FunctionDef)) else getattr(n, "targets", []))
            if isinstance(n, (ast.ClassDef, ast.FunctionDef)) or isinstance(t, ast.Name)}
        if top not in defined:
            missing.append(f"hirl/{where}:{line}: {target}")
    assert missing == []


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")))
def test_no_module_over_500_lines(path):
    lines = (ROOT / path).read_text(encoding="utf-8").count("\n")
    assert lines <= 500, f"hirl/{path}: {lines} lines (split it: one job per module)"


def test_every_built_in_env_id_is_registered_by_its_declared_adapter_module():
    """hirl.integrations declares each built-in env id by the hirl.adapters module that registers it; importing the
    package hirl.adapters, or looking up an id, imports no optional extra (ogbench, gymnasium-robotics)."""
    import subprocess
    import sys

    from hirl.integrations import BUILT_IN_ADAPTERS

    assert {m.split(".")[1] for m in BUILT_IN_ADAPTERS.values()} == {"adapters"}
    probe = ("import sys, hirl.adapters\nfrom hirl.integrations import BUILT_IN_ADAPTERS, adapter\n"
             "for env_id in BUILT_IN_ADAPTERS:\n    assert adapter(env_id).env_id == env_id, env_id\n"
             "print(sorted(m for m in ('ogbench', 'gymnasium_robotics') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=ROOT.parent).stdout
    assert out.strip() == "[]"


DOC = ROOT.parent / "docs" / "architecture.md"
DOC_PATH = re.compile(r"\b(?:hirl|tests|examples|experiments)/[\w./]*\w")  # a repo path the page names
DOC_MODULE = re.compile(r"`(hirl(?:\.\w+)+)")  # a dotted name the page quotes: a module, or a module's attribute


def test_every_path_docs_architecture_names_exists():
    """docs/architecture.md is the map: each file or folder it names (hirl/..., tests/..., examples/..., experiments/...)
    exists, so a moved or removed module fails here until the page is redrawn."""
    text = DOC.read_text(encoding="utf-8")
    named = {m.group(0) for m in DOC_PATH.finditer(text)} - {"hirl/Tabletop", "hirl/TabletopGoal", "hirl/Maze"}  # env ids
    assert len(named) > 40  # the pattern still finds the page's paths
    missing = sorted(p for p in named if not (ROOT.parent / p).exists())
    assert missing == [], f"docs/architecture.md names paths that do not exist: {missing}"


def test_every_module_docs_architecture_quotes_exists():
    """Each `hirl.x.y` the page quotes is a module, or a name defined in (or imported into) the longest module prefix."""
    missing = []
    for name in sorted(set(DOC_MODULE.findall(DOC.read_text(encoding="utf-8")))):
        parts = name.split(".")
        k = max(k for k in range(1, len(parts) + 1) if ".".join(parts[:k]) in MODULES)
        if k < len(parts) and not re.search(rf"\b{parts[k]}\b", MODULES[".".join(parts[:k])].read_text(encoding="utf-8")):
            missing.append(name)
    assert missing == [], f"docs/architecture.md quotes names hirl does not define: {missing}"


def test_docs_architecture_draws_every_layer_unit():
    """Every subpackage / top-level module of LAYERS appears in the page's layer diagram."""
    diagram = DOC.read_text(encoding="utf-8").split("```text", 1)[1].split("```", 1)[0]
    absent = sorted(u for u in LAYERS
                    if u != "__init__" and not re.search(rf"\b{re.escape(u.replace('.', '/'))}(/|\.py)", diagram))
    assert absent == [], f"docs/architecture.md's layer diagram lacks {absent}"


def test_a_sub_subpackage_is_its_own_unit():
    """hirl/teleop/ is two units: the sessions and their UI above them (the UI imports the sessions, never back)."""
    assert [unit_of(m) for m in ("hirl.teleop.ui.server", "hirl.teleop.sessions.live", "hirl.teleop", "hirl.runs.agents")] \
        == ["teleop.ui", "teleop.sessions", "teleop", "runs"]
    assert LAYERS["teleop.ui"] > LAYERS["teleop.sessions"]
    probe = "from hirl.teleop.ui.server import SessionServer\n"
    assert [unit_of(t) for _, t in imports_of(ROOT / "teleop" / "sessions" / "probe.py", probe)] == ["teleop.ui"]

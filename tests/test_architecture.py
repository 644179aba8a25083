"""The dependency direction of docs/architecture.md holds: every import inside hirl/ (module level or inside a
function) goes to the same subpackage or to a lower layer, and learn / rl never import eval (nor eval them)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "hirl"

# subpackage / top-level module -> layer; imports may only go to the same unit or a lower layer
LAYERS: dict[str, int] = {
    "types": 0, "errors": 0, "fileio": 0, "registry": 0, "config": 0, "version": 0, "devices": 0, "plugins": 0,
    "weights": 1, "curriculum": 1,
    "encoders": 2,
    "policies": 3,
    "hierarchy": 4,
    "wrappers": 5, "tracking": 5,
    "integrations": 6,
    "runs": 7,
    "data": 8,
    "learn": 9, "rl": 9, "eval": 9,
    "teleop": 10, "skills": 10, "export": 10,
    "configs": 11, "commands": 11, "cli": 11, "benchmarks": 11,
    "__init__": 12,
}
APART = {frozenset({"learn", "eval"}), frozenset({"rl", "eval"})}  # same layer, never importing each other


def unit_of(module: str) -> str:
    """'hirl.policies.low.bc' -> 'policies'; 'hirl' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported hirl module) for every import statement in the file, wherever it stands."""
    module = "hirl." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
    module = module.removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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
                out.append((node.lineno, name if name != "hirl" else "hirl." + node.names[0].name))
    return out


def violations() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        src = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.name != "__init__.py" else "__init__"
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
        rel = path.relative_to(ROOT)
        src = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.name != "__init__.py" else "__init__"
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


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")))
def test_no_module_over_500_lines(path):
    lines = (ROOT / path).read_text(encoding="utf-8").count("\n")
    assert lines <= 500, f"hirl/{path}: {lines} lines (split it: one job per module)"

"""The house's rules, checked on the code itself: layers import only downward, no import cycles,
and the CLI holds no logic of its own."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "grasplab"

# each top-level module or sub-package of grasplab and its floor; a module may import only from its
# own package or from lower floors (the data flows one way: objects → scenes → grasps → labels →
# datasets → models → policies → evaluation → experiments → cli)
LAYERS = {
    "errors": 0, "seeding": 0, "_version": 0, "_gl": 0, "threads": 0, "storage": 0.5, "presets": 0.5, "ray_local": 0.5,
    "parallel": 0.75,
    "geometry": 1,
    "imaging": 2, "objects": 2, "quality": 2,
    "scene": 3, "grasps": 3, "viz": 3,
    "sim": 3.5,
    "datasets": 4,
    "synth": 4.5,
    "models": 5,
    "policies": 6,
    "evaluation": 7,
    "trials": 7.5,
    "training": 8,
    "experiments": 9, "bench": 9,
    "cli": 10, "__main__": 11,
}


def _modules() -> list[tuple[Path, tuple[str, ...]]]:
    return [(p, p.relative_to(PACKAGE).with_suffix("").parts) for p in sorted(PACKAGE.rglob("*.py"))]


def _imports(path: Path, parts: tuple[str, ...]) -> list[tuple[int, str]]:
    """(line, the grasplab module path imported), for every import in the file, also inside functions."""
    pkg = list(parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[:len(pkg) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
                if not node.module:                          # from . import a, b
                    found += [(node.lineno, ".".join(target + [a.name])) for a in node.names]
                    continue
            elif node.module and node.module.split(".")[0] == "grasplab":
                target = node.module.split(".")[1:]
            else:
                continue
            found.append((node.lineno, ".".join(target)))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, ".".join(a.name.split(".")[1:])) for a in node.names
                      if a.name.split(".")[0] == "grasplab"]
    return [(line, t) for line, t in found if t]


def test_every_module_has_a_layer():
    tops = {parts[0] for _, parts in _modules() if parts != ("__init__",)}
    assert tops <= set(LAYERS), f"modules without a layer in this test: {sorted(tops - set(LAYERS))}"


def test_lower_layers_never_import_higher_ones():
    wrong = []
    for path, parts in _modules():
        if parts == ("__init__",):                   # the package face hands names on lazily
            continue
        floor = LAYERS[parts[0]]
        for line, target in _imports(path, parts):
            top = target.split(".")[0]
            if top != parts[0] and top in LAYERS and LAYERS[top] >= floor:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({parts[0]}, floor {floor}) imports "
                              f"{target} (floor {LAYERS[top]})")
    assert not wrong, "imports that run up or sideways:\n" + "\n".join(wrong)


def _module_name(parts: tuple[str, ...]) -> str:
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Module → the grasplab modules it imports, at module level or inside functions (an import
    deferred into a function still ties the two modules together)."""
    names = {_module_name(parts) for _, parts in _modules()}
    graph: dict[str, set[str]] = {}
    for path, parts in _modules():
        me = _module_name(parts)
        deps = set()
        for _, target in _imports(path, parts):
            while target and target not in names:        # a name imported from a module → that module
                target = target.rpartition(".")[0]
            if target and target != me:
                deps.add(target)
        graph[me] = deps
    return graph


def _is_package(name: str) -> bool:
    return (PACKAGE / name.replace(".", "/") / "__init__.py").is_file()


def test_no_import_cycles_between_modules():
    """Modules never import each other round a loop (a package's ``__init__``, which only hands
    its modules' names on, is left out: importing from it is importing from those modules)."""
    graph = {m: {d for d in deps if not _is_package(d)} for m, deps in _graph().items() if not _is_package(m)}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = 1
        for d in sorted(graph.get(node, ())):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack + [d])
        state[node] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


@pytest.mark.parametrize("path", sorted((PACKAGE / "cli").glob("*.py")), ids=lambda p: p.name)
def test_cli_modules_are_thin(path):
    """No data splitting, model-kind sniffing or synthesis recipes in the CLI: those belong to
    the layers that own them."""
    text = path.read_text()
    for forbidden in ("read_header", "split_scenes(", "kfold", "QualityConfig(", "procedural:30", "positive_threshold=0",
                      "architecture\") ==", "GraspMapPolicy(", "GQCNNPolicy("):
        assert forbidden not in text, f"{path.name} holds {forbidden!r}: move it to the layer that owns it"

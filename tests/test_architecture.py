"""The import rules of docs/architecture.md, checked on the source: the signal core is a leaf, and
no module imports its way back to itself."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"barback.analysis": ROOT / "analysis", "barback.sensor": ROOT / "sensor",
           "barback.firmware_spec": ROOT / "firmware_spec", "barback.recordings": ROOT / "recordings"}


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg, folder in [*FOLDERS.items(), ("barback", ROOT / "barback")]:
        for f in folder.rglob("*.py"):
            rel = f.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([pkg, *parts])
            if not any(name.startswith(other + ".") or name == other for other in FOLDERS if pkg == "barback" and other != pkg):
                mods[name] = f
    return mods


def _imports(path: Path, top_level_only: bool) -> set[str]:
    out = set()
    body = ast.parse(path.read_text()).body if top_level_only else list(ast.walk(ast.parse(path.read_text())))
    for node in body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("barback")}


def test_the_signal_core_imports_nothing_from_the_rest_of_barback():
    bad = {name: sorted(m for m in _imports(f, top_level_only=False) if not m.startswith("barback.analysis"))
           for name, f in _modules().items() if name.startswith("barback.analysis")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_no_import_cycles_between_modules():
    mods = _modules()
    graph = {name: {m for m in _imports(f, top_level_only=True) if m in mods and m != name} for name, f in mods.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(n, path):
        state[n] = 1
        for m in graph[n]:
            if state.get(m) == 1:
                cycles.append(path[path.index(m):] + [m] if m in path else [n, m])
            elif m not in state:
                visit(m, path + [m])
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [n])
    assert cycles == []


# named limits of what one session's input can be (lying stamps), not tuning: kept beside the
# checks that use them, and documented there
INPUT_LIMITS = {"STRAY_GAP_S", "STRAY_MAX_SHARE", "STRAY_MAX_SAMPLES", "MAX_GRID_FACTOR", "MAX_GRID_GAP_S"}
# named keys, not quantities: the loads_kg key for "every set"
KEYS = {"EVERY_SET"}


def test_the_signal_core_keeps_its_tunable_numbers_in_settings():
    """Every tunable number of the signal core is a field of PipelineSettings or a threshold in
    the versioned file: no module of analysis/ defines a numeric constant of its own (physical
    units and the input limits above apart)."""
    found = []
    for f in sorted((ROOT / "analysis").glob("*.py")):
        if f.name in ("units.py", "config.py"):
            continue
        for node in ast.parse(f.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            value = getattr(node, "value", None)
            numeric = [n for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, (int, float))
                       and not isinstance(n.value, bool)] if value is not None else []
            for t in targets:
                if isinstance(t, ast.Name) and t.id.isupper() and numeric and t.id not in INPUT_LIMITS | KEYS:
                    found.append(f"{f.name}: {t.id}")
    # the guided routines' steps and their seconds, shown to the user
    assert found == ["calibration.py: STEPS", "screen.py: HINGE_STEPS"], found

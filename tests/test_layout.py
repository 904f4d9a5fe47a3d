"""The shape of the code: the library never depends on its command lines (imports run from fst.cli down to the
library, not back), modules stay readable in one sitting, and every module has its test file."""

import ast
import subprocess
import sys

from conftest import REPO

LIBRARY = sorted(p for p in (REPO / "fst").glob("*.py"))
COMMAND_LINES = sorted((REPO / "fst" / "cli").glob("*.py"))


def module_imports(path) -> set[str]:
    """The fst modules a file imports anywhere except under `if __name__ == "__main__":`."""
    tree = ast.parse(path.read_text())
    main_blocks = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    skipped = {id(node) for block in main_blocks for node in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fst"):
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names if node.module == "fst"}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("fst")}
    return found


def test_no_library_module_imports_a_command_line():
    backward = {p.name: sorted(m for m in module_imports(p) if m.startswith("fst.cli")) for p in LIBRARY}
    assert {name: found for name, found in backward.items() if found} == {}


def test_library_modules_do_not_import_the_package_root():
    # fst/__init__.py imports the Stylizer; a library module importing `fst` itself would pull that in
    offenders = [p.name for p in LIBRARY if p.name != "__init__.py" and any(
        m in ("fst", "fst.Stylizer", "fst.__version__") for m in module_imports(p))]  # fmt: skip
    assert offenders == []


def test_import_fst_loads_no_command_line_code():
    code = "import sys, fst; print(sorted(m for m in sys.modules if m.startswith('fst.cli')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert loaded.stdout.strip() == "[]"


def test_every_module_has_its_test_file():
    tests = {p.name for p in (REPO / "tests").glob("test_*.py")}
    wanted = {f"test_{p.stem}.py" for p in LIBRARY if p.stem != "__init__"}
    wanted |= {f"test_cli_{p.stem}.py" for p in COMMAND_LINES if p.stem != "__init__"}
    assert sorted(wanted - tests) == []


def library_floors() -> dict[str, int]:
    """Each library module's floor in the import graph: 1 for one that imports no other, else one above the highest
    it imports (lazy imports included: they are dependencies too)."""
    graph = {p.stem: {m.removeprefix("fst.") for m in module_imports(p)} & {q.stem for q in LIBRARY}
             for p in LIBRARY if p.stem != "__init__"}  # fmt: skip
    floors: dict[str, int] = {}

    def floor(name: str, path: tuple[str, ...] = ()) -> int:
        assert name not in path, f"a circle: {' -> '.join((*path, name))}"
        if name not in floors:
            floors[name] = 1 + max((floor(m, (*path, name)) for m in graph[name] - {name}), default=0)
        return floors[name]

    for name in graph:
        floor(name)
    return floors


def test_the_imports_stand_on_at_most_ten_floors():
    # the command lines stand one floor above the library and the scripts at the root one above them
    floors = library_floors()
    assert max(floors.values()) + 2 <= 10, sorted(floors.items(), key=lambda item: -item[1])[:6]


def test_no_module_is_over_300_lines():
    lengths = {p.relative_to(REPO).as_posix(): len(p.read_text().splitlines()) for p in LIBRARY + COMMAND_LINES}
    assert {name: n for name, n in lengths.items() if n > 300} == {}


def test_no_function_is_over_60_lines():
    long = {}
    for path in LIBRARY + COMMAND_LINES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 60:
                long[f"{path.name}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert long == {}

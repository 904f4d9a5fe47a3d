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


def test_no_module_is_over_400_lines():
    lengths = {p.relative_to(REPO).as_posix(): len(p.read_text().splitlines()) for p in LIBRARY + COMMAND_LINES}
    assert {name: n for name, n in lengths.items() if n > 400} == {}

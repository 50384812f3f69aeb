"""The direction of the imports: the library never imports the CLI, and no two top-level modules of
dsan_tf import each other (directly or round a longer circle). Read from the source with ast, so
imports inside functions count too: a circle there is still a circle in the design."""

import ast
import re
import subprocess
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dsan_tf"
# The one entry point allowed to import the CLI: `python -m dsan_tf` is the command line.
CLI_ENTRY_POINTS = {PACKAGE / "__main__.py"}
# A circle another branch removes (issue 35: outputs.py stops importing io_utils). Listed here
# so that this test fails on any other circle; delete the entry once that branch is merged.
def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[str]:
    """Every module named by an import statement of ``path`` (relative imports resolved), with
    ``from package import name`` also giving ``package.name`` (it may be a submodule)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return found


def top_level(module: str) -> str | None:
    """The top-level module or sub-package of dsan_tf a module belongs to (``dsan_tf.data.align`` ->
    ``data``); None outside dsan_tf and for the package itself."""
    parts = module.split(".")
    return parts[1] if parts[0] == "dsan_tf" and len(parts) > 1 else None


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        source = top_level(module_name(path)) or "__init__"
        for target in map(top_level, imported_modules(path)):
            # ``from dsan_tf import api`` names a module; ``from dsan_tf import predict`` a function
            if target not in (None, source) and ((PACKAGE / target).is_dir() or (PACKAGE / f"{target}.py").is_file()):
                graph.setdefault(source, set()).add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[frozenset]:
    """The strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(set(graph) | {n for targets in graph.values() for n in targets}):
        if node not in index:
            visit(node)
    return found


def test_the_circle_finder_finds_circles_and_only_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": set(), "f": {"g"}, "g": {"f"}}
    assert sorted(map(sorted, circles(graph))) == [["a", "b", "c"], ["f", "g"]]
    assert circles({"a": {"b"}, "b": {"c"}}) == []


def test_imports_are_read_from_the_source():
    assert top_level("dsan_tf.data.align") == "data" and top_level("numpy") is None and top_level("dsan_tf") is None
    names = imported_modules(PACKAGE / "cli" / "__init__.py")
    assert any(name.startswith("dsan_tf.errors") for name in names)  # a known import, seen


def test_the_library_never_imports_the_cli():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if (PACKAGE / "cli") in path.parents or path in CLI_ENTRY_POINTS:
            continue
        names = imported_modules(path)
        if any(name == "dsan_tf.cli" or name.startswith("dsan_tf.cli.") for name in names):
            offenders.append(str(path.relative_to(PACKAGE.parent)))
    assert offenders == [], f"library modules importing dsan_tf.cli (move what they need into the library): {offenders}"


def test_no_import_circle_among_the_top_level_modules():
    found = [sorted(c) for c in circles(import_graph())]
    assert found == [], f"import circles among dsan_tf's top-level modules: {found}"


# ---------------------------------------------------------------------- no machine path in the repository

REPO = PACKAGE.parent
# An absolute path of one machine: a home or root's home, this build machine's /work, the temporary
# folder, macOS homes, mounts. Written in pieces so that this file does not match itself. Paths in
# the repository are relative to the checkout (runs/..., ../shared/datasets/ferplus, models/...).
MACHINE_PATH = re.compile(r"(?<![\w.~/-])/(?:" + "|".join(
    ["ro" + "ot", "ho" + r"me/[^/\s\"'`]+", "wo" + "rk", "tm" + "p", "Us" + r"ers/[^/\s\"'`]+", "mn" + "t",
     "scr" + "atch"]) + r")/")
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".keras", ".npz", ".h5", ".pb", ".lz4", ".tflite", ".gz", ".zip", ".pdf",
                   ".index", ".data-00000-of-00001"}


def tracked_text_files():
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        pytest.skip("not a git checkout: no list of tracked files")
    for name in filter(None, listing.stdout.split("\0")):
        path = REPO / name
        if path.suffix.lower() in BINARY_SUFFIXES or not path.is_file():
            continue
        try:
            yield name, path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


def test_the_machine_path_pattern_tells_machine_paths_from_relative_ones():
    for machine in ("/" + "root/runs/x", '"/' + 'work/shared/datasets"', "at /" + "tmp/i16/head", "/" + "home/ana/x",
                    "(/" + "Users/ana/data)"):
        assert MACHINE_PATH.search(machine), machine
    for neutral in ("runs/issue25/x", "../shared/datasets/ferplus", "~/runs/x", "https://example.org/" + "work/x",
                    "models/" + "tmp/x", "dsan_tf/" + "root/"):
        assert not MACHINE_PATH.search(neutral), neutral


def test_no_tracked_file_holds_an_absolute_path_of_a_machine():
    found = [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {text[m.start():m.start() + 50].splitlines()[0]}"
             for name, text in tracked_text_files() if name != "tests/test_house.py"
             for m in MACHINE_PATH.finditer(text)]
    assert found == [], "absolute paths of a machine (make them relative to the checkout):\n" + "\n".join(found)

"""Which lines of a dsan_tf/ module its OWN tests never run (issue 34).

A reviewer checks a mutant of a module with that module's test files, not with the whole suite: a
line or branch those files never run is a place where any mutant survives. This report runs a
module's own test files under coverage and lists what they miss, so that tests can be written there
before a reviewer's mutants find it.

    python tests/mutation/own_coverage.py dsan_tf/outputs.py              # its own test files
    python tests/mutation/own_coverage.py dsan_tf/outputs.py dsan_tf/io_utils.py
    python tests/mutation/own_coverage.py dsan_tf/outputs.py --tests tests/test_cli.py   # other files
    python tests/mutation/own_coverage.py --map                          # each module's own test files
    python tests/mutation/own_coverage.py --map dsan_tf/outputs.py       # one module's, on one line

A module's own test files are the files its mutants in tests/mutation/mutants.py name (the
selection the mutation check uses), plus ``tests/test_<module>.py`` when it exists. Each module's
files run once (``nice -n 19 python -m pytest -q``), a few seconds to minutes each. Needs
pytest-cov (requirements-dev.txt). Not part of the suite.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from mutants import MUTANTS  # noqa: E402


def own_test_files() -> dict:
    """module path (relative to the repository) -> the test files that count as its own."""
    owners = defaultdict(set)
    for mutant in MUTANTS:
        owners[mutant.file].update(arg.split("::")[0] for arg in mutant.tests if arg.startswith("tests/"))
    for module in (REPO / "dsan_tf").rglob("*.py"):
        named = REPO / "tests" / f"test_{module.stem}.py"
        if named.exists():
            owners[module.relative_to(REPO).as_posix()].add(named.relative_to(REPO).as_posix())
    return owners


def ranges(lines) -> str:
    """[3, 4, 5, 9] -> '3-5, 9'."""
    out, start, previous = [], None, None
    for line in sorted(lines) + [None]:
        if start is not None and (line is None or line != previous + 1):
            out.append(f"{start}" if start == previous else f"{start}-{previous}")
            start = None
        if start is None:
            start = line
        previous = line
    return ", ".join(out)


def missed(module: str, tests: list) -> dict:
    """Run ``tests`` under coverage of ``module``; its missing lines and branches (coverage's JSON)."""
    # The module's folder, not its dotted name: coverage imports a dotted name's parent packages to
    # find it, and a parent that imports numpy (dsan_tf.data) then fails to import again under pytest
    # ("cannot load module more than once per process").
    folder = Path(module).parent.as_posix()
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "coverage.json"
        env = dict(os.environ, COVERAGE_FILE=str(Path(scratch) / ".coverage"))
        command = ["nice", "-n", "19", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests,
                   f"--cov={folder}", "--cov-branch", f"--cov-report=json:{report}"]
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
        if not report.exists():
            raise SystemExit(f"{module}: no coverage report; pytest said: {summary}")
        files = json.loads(report.read_text())["files"]
    measured = next((data for name, data in files.items() if Path(name).as_posix().endswith(module)), None)
    if measured is None:
        raise SystemExit(f"{module}: its tests ({' '.join(tests)}) never imported it")
    return {"summary": summary, "statements": measured["summary"]["num_statements"],
            "lines": measured["missing_lines"], "branches": measured.get("missing_branches", [])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="module paths, e.g. dsan_tf/outputs.py")
    parser.add_argument("--tests", nargs="+", help="test files to run instead of the modules' own")
    parser.add_argument("--map", action="store_true",
                        help="only print each module's own test files (the files to run for a mutant of it)")
    args = parser.parse_args(argv)
    owners = own_test_files()
    if args.map:
        for module in args.modules or sorted(m for m in owners if (REPO / m).is_file()):
            print(f"{module}: {' '.join(sorted(owners.get(module, ()))) or '(none)'}")
        return 0
    if not args.modules:
        parser.error("give module paths (or --map)")
    for module in args.modules:
        if not (REPO / module).is_file():
            parser.error(f"{module}: no such module (give a path like dsan_tf/outputs.py)")
        tests = args.tests or sorted(owners.get(module, ()))
        if not tests:
            print(f"{module}: no test file of its own (no mutant names one, no tests/test_{Path(module).stem}.py)")
            continue
        result = missed(module, tests)
        print(f"{module}: {len(result['lines'])} of {result['statements']} lines and "
              f"{len(result['branches'])} branches never run by {' '.join(tests)} ({result['summary']})")
        print(f"    lines: {ranges(result['lines']) or '-'}")
        partial = [f"{a}->{b if b > 0 else 'exit'}" for a, b in result["branches"]]
        print(f"    branches not taken: {', '.join(partial) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

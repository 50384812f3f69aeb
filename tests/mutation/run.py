"""The project's mutation check (issue 26): does the suite fail when the code is wrong?

    python tests/mutation/run.py                 # every mutant of tests/mutation/mutants.py
    python tests/mutation/run.py --only NAME ... # some of them
    python tests/mutation/run.py --check         # only verify that each mutant's text is found once
    python tests/mutation/run.py --jobs 3        # three mutants at once, each in its own scratch copy
    python tests/mutation/run.py --coverage      # only list the modules of dsan_tf/ that have no mutant
    python tests/mutation/run.py --results R.jsonl  # each result appended as it comes; rerun to continue
    python tests/mutation/run.py --results R.jsonl --report   # only the report of what R.jsonl holds

The report gives the score per module of dsan_tf/; a module with code and no mutant is a failure of
coverage (listed, exit status 1) on a full run and with --coverage.

The repository (without .git, caches and large files) is copied to a scratch folder
(mutation-XXXX in the system temporary folder, beside a link to the checkout's ../shared, so that
the tests of real data run as in the checkout); the working tree is never modified. First the baseline: each test file the
mutants name is run unmutated (with the union of their -k selections); a mutant whose tests fail
without it cannot be "killed" and is reported "invalid". Then, one at a time, each mutant's text
substitution is applied to the scratch copy, its tests are run (``nice -n 19 python -m pytest -x -q``, ``--nice`` to change,
the scratch copy first on PYTHONPATH) and the file is restored: tests failing = killed, passing =
survived. A mutant whose ``old`` text is not found exactly once is "stale" (the code moved; rewrite
the mutant): never counted as killed, and the exit status is 1.

With ``--results FILE`` each mutant's result is appended to FILE (JSON Lines) as soon as it is known,
with a fingerprint of what decided it: the mutant itself, the mutated module and the test files it
runs (with tests/conftest.py). Run the same command again (after an interruption, in another
session) and every mutant whose fingerprint is unchanged is taken from FILE instead of rerun; the
report covers them all. A changed module or test file reruns exactly the mutants it can affect.
Each record keeps the last lines of pytest's output with absolute folder paths cut to "…/", so the
file can be committed (experiments/results/issue34-mutation/results.jsonl is, to outlive a session).

Not part of the test suite (pytest does not collect this folder: no test_*.py names); it takes
tens of minutes. Results: docs/testing.md.
"""

import argparse
import ast
import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from mutants import MUTANTS  # noqa: E402

IGNORED_DIRS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "runs", "build", "dist"}
MAX_FILE_BYTES = 200 * 2**20  # larger files (datasets, checkpoints) are not copied


def copy_tree(source: Path, target: Path) -> None:
    def ignore(directory, names):
        skipped = []
        for name in names:
            path = Path(directory) / name
            if name in IGNORED_DIRS or name.endswith(".egg-info"):
                skipped.append(name)
            elif path.is_file() and not path.is_symlink() and path.stat().st_size > MAX_FILE_BYTES:
                skipped.append(name)
        return skipped

    shutil.copytree(source, target, symlinks=True, ignore=ignore)


def split_selection(tests):
    """pytest arguments -> (files, -k expression or None)."""
    files, expression, args = [], None, list(tests)
    while args:
        arg = args.pop(0)
        if arg == "-k":
            expression = args.pop(0)
        else:
            files.append(arg)
    return files, expression


def baseline_groups(mutants):
    """{test file: -k expression (None = the whole file)} covering every mutant's selection."""
    groups = OrderedDict()
    for mutant in mutants:
        files, expression = split_selection(mutant.tests)
        for file in files:
            if file in groups and groups[file] is None:
                continue
            if expression is None:
                groups[file] = None
            else:
                groups[file] = f"{groups[file]} or ({expression})" if groups.get(file) else f"({expression})"
    return groups


NICE = 19  # --nice


def pytest_command(files, expression):
    command = ["nice", "-n", str(NICE), sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *files]
    if expression:
        command += ["-k", expression]
    return command


ABSOLUTE_PATH = re.compile(r"(?<![\w.~])/(?:[\w.+-]+/)+")


def without_machine_paths(line: str) -> str:
    """A pytest output line with each absolute folder path cut to "…/" (the scratch copy, the Python
    install): the results file is committed, and no tracked file may hold a path of one machine."""
    return ABSOLUTE_PATH.sub("…/", line)


def run_pytest(scratch: Path, files, expression, timeout):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(scratch), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "DSAN_MUTATION_RUN": "1"}  # property tests skip shrinking a failure: a kill needs no minimal example
    started = time.monotonic()
    try:
        result = subprocess.run(pytest_command(files, expression), cwd=scratch, env=env, capture_output=True, text=True,
                                timeout=timeout)
        lines = (result.stdout + result.stderr).strip().splitlines()[-12:]
        status, tail = result.returncode, [without_machine_paths(line) for line in lines]
    except subprocess.TimeoutExpired:
        status, tail = "timeout", [f"timed out after {timeout} s"]
    return status, time.monotonic() - started, tail


def check_imports_from(scratch: Path) -> None:
    """The tests must import the scratch copy's dsan_tf, not the (editable) installed one."""
    env = {**os.environ, "PYTHONPATH": str(scratch)}
    found = subprocess.run([sys.executable, "-c", "import dsan_tf, sys; sys.stdout.write(dsan_tf.__file__)"],
                           cwd=scratch, env=env, capture_output=True, text=True, check=True).stdout
    if not Path(found).resolve().is_relative_to(scratch.resolve()):
        sys.exit(f"mutation: the scratch copy imports dsan_tf from {found}, not from {scratch}")


def has_code(path: Path) -> bool:
    """Whether a module does anything beyond a docstring and imports (such a module needs no mutant)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    return any(not isinstance(n, (ast.Import, ast.ImportFrom)) for n in body)


def modules_without_mutants(mutants) -> list:
    """The modules of dsan_tf/ with code that no mutant in ``mutants`` touches."""
    covered = {m.file for m in mutants}
    found = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "dsan_tf").rglob("*.py") if has_code(p))
    return [module for module in found if module not in covered]


def per_module(results) -> str:
    """One line per module: killed/total and the survivors' names."""
    lines = []
    for module in sorted({r["file"] for r in results}):
        mine = [r for r in results if r["file"] == module]
        killed = sum(r["outcome"] == "killed" for r in mine)
        others = [f"{r['name']} ({r['outcome']})" for r in mine if r["outcome"] != "killed"]
        lines.append(f"  {module:<36} {killed:>2}/{len(mine):<2} killed" + (f"; {', '.join(others)}" if others else ""))
    return "\n".join(lines)


def print_score(results, when: str) -> None:
    """The score line (``when`` ends it), the mutants by outcome other than killed, and the score per module."""
    killed, total = sum(r["outcome"] == "killed" for r in results), len(results)
    print(f"\nmutation score: {killed}/{total} killed ({100.0 * killed / max(total, 1):.0f} %) {when}")
    for outcome in ("survived", "stale", "invalid", "no-tests"):
        listed = [r["name"] for r in results if r["outcome"] == outcome]
        if listed:
            print(f"{outcome}: {', '.join(listed)}")
    print("per module:\n" + per_module(results))


def fingerprint(root: Path, mutant) -> str:
    """What decides a mutant's outcome: its own text, the module it changes and the test files it runs."""
    files, _ = split_selection(mutant.tests)
    digest = hashlib.sha256(json.dumps([mutant.file, mutant.old, mutant.new, list(mutant.tests)]).encode())
    for name in [mutant.file, "tests/conftest.py", *files]:
        path = root / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"<missing>") + b"\0")
    return digest.hexdigest()


def read_results(path: Path) -> dict:
    """{fingerprint: result} from a --results file; a line cut short by an interruption is skipped."""
    found = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                result = json.loads(line)
                found[result["fingerprint"]] = result
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return found


def occurrences(root: Path, mutant) -> int:
    path = root / mutant.file
    return path.read_text(encoding="utf-8").count(mutant.old) if path.is_file() else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these mutants only")
    parser.add_argument("--check", action="store_true", help="only check that each mutant's text is found once")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated runs (faster, less sure)")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per pytest run (a timeout kills)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="mutants run at once, each in its own scratch copy (all under nice -n 19)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--nice", type=int, default=19, choices=range(0, 20), metavar="0..19",
                        help="niceness of each pytest run (default 19: the lowest priority)")
    parser.add_argument("--coverage", action="store_true",
                        help="only list the modules of dsan_tf/ without a mutant (exit status 1 if any)")
    parser.add_argument("--results", type=Path, metavar="FILE.jsonl",
                        help="append each result here as it comes, and reuse those whose fingerprint is unchanged")
    parser.add_argument("--report", action="store_true",
                        help="with --results: run nothing, report the current mutants' results FILE holds")
    args = parser.parse_args(argv)
    if args.report and not args.results:
        parser.error("--report needs --results FILE")

    global NICE
    NICE = args.nice
    names = [m.name for m in MUTANTS]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        sys.exit(f"mutation: duplicate mutant names: {sorted(duplicates)}")
    mutants = MUTANTS
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            sys.exit(f"mutation: unknown mutants {sorted(unknown)}; known: {', '.join(names)}")
        mutants = [m for m in MUTANTS if m.name in args.only]

    stale = [m for m in mutants if occurrences(REPO, m) != 1]
    for m in stale:
        print(f"STALE    {m.name}: {m.file}: the old text is found {occurrences(REPO, m)} times, not once")
    if args.check:
        print(f"{len(mutants) - len(stale)}/{len(mutants)} mutants apply cleanly")
        return 1 if stale else 0
    uncovered = modules_without_mutants(MUTANTS)
    if args.coverage:
        print(f"{len(uncovered)} module(s) of dsan_tf/ without a mutant" + (":" if uncovered else ""))
        for module in uncovered:
            print(f"  {module}")
        return 1 if uncovered else 0
    runnable = [m for m in mutants if m not in stale]
    reused, prints = [], {}
    if args.results:
        prints = {m.name: fingerprint(REPO, m) for m in runnable}  # taken before the copies: what the copies test
        recorded = read_results(args.results)
        reused = [recorded[prints[m.name]] for m in runnable if prints[m.name] in recorded]
        runnable = [m for m in runnable if prints[m.name] not in recorded]
        print(f"mutation: {len(reused)} result(s) reused from {args.results}, {len(runnable)} mutant(s) to run",
              flush=True)
    if args.report:
        print_score(reused, f"so far; {len(runnable)} of {len(runnable) + len(reused)} mutants not run on the current code")
        return 0
    record_lock = threading.Lock()

    workdir = Path(tempfile.mkdtemp(prefix="mutation-", dir="/tmp"))
    if (REPO.parent / "shared").is_dir():  # the copies' ../shared: tests of real data and photos run, not skip
        (workdir / "shared").symlink_to(REPO.parent / "shared")
    jobs = max(1, args.jobs)
    copies, started = queue.Queue(), time.monotonic()
    try:
        print(f"mutation: copying {REPO} to {workdir} ({jobs} copies)", flush=True)
        for index in range(jobs):
            copy = workdir / f"repo{index}"
            copy_tree(REPO, copy)
            check_imports_from(copy)
            copies.put(copy)

        def baseline(item):
            file, expression = item
            scratch = copies.get()
            try:
                status, seconds, tail = run_pytest(scratch, [file], expression, args.timeout)
            finally:
                copies.put(scratch)
            ok = status == 0
            print(f"BASELINE {'ok  ' if ok else 'FAIL'} {file} {'-k ' + repr(expression) if expression else ''} "
                  f"({seconds:.0f} s)" + ("" if ok else "\n    " + "\n    ".join(tail)), flush=True)
            return file, ok

        broken_files = set()
        if not args.no_baseline:
            with ThreadPoolExecutor(jobs) as pool:
                broken_files = {file for file, ok in pool.map(baseline, baseline_groups(runnable).items()) if not ok}

        def run_mutant(mutant):
            files, expression = split_selection(mutant.tests)
            if broken_files & set(files):
                outcome, seconds, tail = "invalid", 0.0, [f"tests fail without the mutant: {sorted(broken_files & set(files))}"]
            else:
                scratch = copies.get()
                try:
                    path = scratch / mutant.file
                    original = path.read_text(encoding="utf-8")
                    if original.count(mutant.old) != 1:  # the scratch copy is the repository's: cannot happen
                        outcome, seconds, tail = "stale", 0.0, ["old text not found once in the scratch copy"]
                    else:
                        path.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
                        try:
                            status, seconds, tail = run_pytest(scratch, files, expression, args.timeout)
                        finally:
                            path.write_text(original, encoding="utf-8")
                        if status == 0:
                            outcome = "survived"
                        elif status == 5:
                            outcome = "no-tests"  # the selection collects nothing: a broken mutant, not a kill
                        else:
                            outcome = "killed"
                finally:
                    copies.put(scratch)
            print(f"{outcome.upper():8} {mutant.name} ({seconds:.0f} s)"
                  + ("\n    " + "\n    ".join(tail[-3:]) if outcome in ("survived", "no-tests") else ""), flush=True)
            result = {"name": mutant.name, "file": mutant.file, "outcome": outcome, "seconds": round(seconds, 1),
                      "tests": " ".join(mutant.tests), "why": mutant.why, "tail": tail}
            if args.results and outcome in ("killed", "survived"):  # the others depend on the run, not the mutant
                with record_lock, args.results.open("a", encoding="utf-8") as file:
                    file.write(json.dumps({**result, "fingerprint": prints[mutant.name],
                                           "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}) + "\n")
            return result

        with ThreadPoolExecutor(jobs) as pool:
            results = reused + list(pool.map(run_mutant, runnable))
    finally:
        if args.keep:
            print(f"mutation: scratch copies kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    for m in stale:
        results.append({"name": m.name, "file": m.file, "outcome": "stale", "seconds": 0.0, "tests": " ".join(m.tests),
                        "why": m.why, "tail": []})
    print_score(results, f"in {(time.monotonic() - started) / 60:.1f} min")
    if not args.only and uncovered:  # a partial run (--only) says nothing about coverage
        print(f"coverage: {len(uncovered)} module(s) of dsan_tf/ have no mutant: {', '.join(uncovered)}")
    if args.json:
        killed = sum(r["outcome"] == "killed" for r in results)
        args.json.write_text(json.dumps({"killed": killed, "total": len(results), "results": results,
                                         "modules_without_mutants": uncovered}, indent=2) + "\n")
    failed = any(r["outcome"] in ("stale", "invalid", "no-tests") for r in results)
    return 1 if failed or (uncovered and not args.only) else 0


if __name__ == "__main__":
    sys.exit(main())

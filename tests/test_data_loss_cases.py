"""Issue 31's ways to lose a user's data, one test each (make-sample, ship, simulate-centres --csv,
export savedmodel's config files, align --report, ablate / tfrecords / analyze over a user's file),
and the locks: none left behind, two runs into one new output refused."""

import json
import os
from pathlib import Path

import pytest
from script_loader import ROOT, refused

from dsan_tf.cli import run_command

SAMPLE = ROOT / "dsan_tf" / "sample_data" / "ferplus"


def command(name):
    def main(argv):
        try:
            return run_command(name, [str(a) for a in argv])
        except SystemExit as exit_:
            return exit_.code
    return main


def tree(folder):
    """{relative path: bytes} of every file under ``folder`` (hidden ones too)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def no_locks(*folders):
    return [str(p) for folder in folders for p in Path(folder).rglob("*.lock")]


# ---------------------------------------------------------------------- 1. make-sample

def sample_args(source, out, *extra):
    return ["--source", source, "--out", out, "--train-per-class", 2, "--valid-per-class", 1, "--dropped", 1, *extra]


@pytest.fixture
def source(tmp_path):
    """A copy of the embedded sample as the "full data" (the package's own is never a source here)."""
    import shutil

    copy = tmp_path / "full"
    shutil.copytree(SAMPLE, copy)
    return copy


def test_make_sample_never_deletes_its_source(source, tmp_path):
    before = tree(source)
    refused(command("make-sample"), sample_args(source, source, "--overwrite"), r"--out .*(input|holds the input)")
    refused(command("make-sample"), sample_args(source, tmp_path, "--overwrite"), r"--out .*holds the input")
    assert tree(source) == before
    assert no_locks(tmp_path) == []


def test_make_sample_keeps_a_users_folder_and_a_good_sample_after_a_failure(source, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    refused(command("make-sample"), sample_args(source, mine), r"--out .*did not make.*--overwrite")
    assert tree(mine) == {"notes.txt": b"mine"}
    out = tmp_path / "sample"
    assert command("make-sample")(sample_args(source, out)) == 0
    images = sorted(p.name for p in (out / "FER2013Train").iterdir())
    assert len(images) == 8 * 2 + 1 + 1  # 2 per class, 1 dropped row, label.csv
    good = tree(out)
    # a failing rerun (more rows per class than the source has) leaves the good sample as it was
    refused(command("make-sample"), sample_args(source, out, "--train-per-class", 10**6), r"class \d has only")
    assert tree(out) == good
    # a rerun into its own sample replaces it whole (another seed: other images)
    assert command("make-sample")(sample_args(source, out, "--seed", 5)) == 0
    assert tree(out) != good and len(list((out / "FER2013Train").iterdir())) == len(images)
    assert no_locks(tmp_path) == [] and sorted(os.listdir(tmp_path)) == ["full", "mine", "sample"]


def test_make_sample_needs_both_flags_and_never_writes_into_the_package(source, tmp_path):
    refused(command("make-sample"), ["--source", source], r"--out")
    refused(command("make-sample"), ["--out", tmp_path / "s"], r"--source")
    inside = ROOT / "dsan_tf" / "sample_data" / "made-by-a-test"
    refused(command("make-sample"), sample_args(source, inside), r"--out .*inside the installed package")
    assert not inside.exists()

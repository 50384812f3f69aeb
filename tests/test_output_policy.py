"""The one output policy (dsan_tf.outputs, issue 24), tested once for every writer.

Each rule is a test over WRITERS: the library's ways of writing an output. A new writer gets
every test by being added to that list. The commands' own tests (tests/test_bad_input_*.py)
go through their flags; these go through the library they call.
"""

import errno
import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from dsan_tf import outputs
from dsan_tf.io_utils import atomic_dir, atomic_path, check_output_path, write_bytes, write_json, write_text
from dsan_tf.outputs import MARKER, OutputError, OutputPolicy

REPO = Path(__file__).resolve().parent.parent


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -------------------------------------------------------------------- the writers under test
def policy_write(path, data=b"new\n", overwrite=False):
    with OutputPolicy("test", overwrite=overwrite) as policy:
        policy.claim_file(path)
        with policy.publish(path) as tmp:
            Path(tmp).write_bytes(data)


WRITERS = {  # name -> write(path, bytes): every way the library writes one file
    "policy.publish": policy_write,
    "atomic_path": lambda path, data=b"new\n": _atomic(path, data),
    "write_bytes": lambda path, data=b"new\n": write_bytes(path, data),
    "write_text": lambda path, data=b"new\n": write_text(path, data.decode()),
}


def _atomic(path, data):
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


# -------------------------------------------------------------------- 1. devices and pipes
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_devices_and_pipes_are_written_through_never_replaced(writer, tmp_path):
    before = os.stat("/dev/null")
    WRITERS[writer]("/dev/null", b"gone\n")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)

    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()))
    reader.start()
    WRITERS[writer](fifo, b"row\n")
    reader.join(10)
    assert received == [b"row\n"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.jsonl"]  # no temporary left beside it


def test_dev_stdout_is_written_through_to_a_pipe():
    code = ("from dsan_tf.io_utils import write_text\n"
            "from dsan_tf.outputs import OutputPolicy\n"
            "write_text('/dev/stdout', 'one\\n')\n"
            "with OutputPolicy('t') as p:\n"
            "    p.claim_file('/dev/stdout')\n"
            "    with p.publish('/dev/stdout') as tmp:\n"
            "        open(tmp, 'w').write('two\\n')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "one\ntwo\n"


# -------------------------------------------------------------------- 2. never replace what the command did not make
def test_an_existing_file_is_replaced_only_with_overwrite(tmp_path):
    mine = tmp_path / "report.json"
    mine.write_text("the user's\n")
    with pytest.raises(OutputError, match=r"^--output .*report.json: exists; pass --overwrite"):
        policy_write(mine)
    assert mine.read_text() == "the user's\n"
    policy_write(mine, b"replaced\n", overwrite=True)
    assert mine.read_text() == "replaced\n"


def test_the_no_replace_check_holds_at_the_rename(tmp_path):
    """Another program creates the output while the command works: it is kept (export --version 12 twice)."""
    target = tmp_path / "out.jsonl"
    with OutputPolicy("test") as policy:
        policy.claim_file(target)
        with pytest.raises(OutputError, match="created by another program while this command ran"):
            with policy.publish(target) as tmp:
                Path(tmp).write_text("mine")
                target.write_text("theirs")  # appears after the start-up check
    assert target.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]

    version = tmp_path / "models" / "12"
    with pytest.raises(FileExistsError):
        with atomic_dir(version) as folder:
            (folder / "saved_model.pb").write_text("second export")
            version.mkdir(parents=True)
            (version / "saved_model.pb").write_text("first export")
    assert (version / "saved_model.pb").read_text() == "first export"
    assert os.listdir(version.parent) == ["12"]


def test_rename_no_replace_without_renameat2(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "_renameat2", None)  # a file system or libc without it: link / mkdir
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    with pytest.raises(FileExistsError):
        outputs.rename_no_replace(tmp_path / "a", tmp_path / "b")
    outputs.rename_no_replace(tmp_path / "a", tmp_path / "c")
    (tmp_path / "d").mkdir()
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "keep").write_text("e")
    with pytest.raises(FileExistsError):
        outputs.rename_no_replace(tmp_path / "d", tmp_path / "e")
    outputs.rename_no_replace(tmp_path / "d", tmp_path / "f")
    assert sorted(os.listdir(tmp_path)) == ["b", "c", "e", "f"] and (tmp_path / "e" / "keep").exists()


# -------------------------------------------------------------------- 3. folders: markers and manifests
def test_a_folder_holding_someone_elses_files_is_refused(tmp_path):
    out = tmp_path / "annotated"
    out.mkdir()
    (out / "ivan.jpg").write_bytes(b"the user's photo")
    with pytest.raises(OutputError, match=r"^--annotate .*annotated: holds files this command did not make "
                                          r"\(ivan.jpg\).*--overwrite"):
        OutputPolicy("predict").claim_folder(out, "annotations", flag="--annotate")
    assert (out / "ivan.jpg").read_bytes() == b"the user's photo"


def test_a_rerun_replaces_only_the_files_it_made(tmp_path):
    out = tmp_path / "annotated"
    with OutputPolicy("predict", flag="--annotate") as policy:
        policy.claim_folder(out, "annotations")
        with policy.publish(out / "a.jpg") as tmp:
            Path(tmp).write_bytes(b"first run")
    assert outputs.read_marker(out)[:2] == ("annotations", "predict")
    (out / "b.jpg").write_bytes(b"the user's, put there later")
    with OutputPolicy("predict", flag="--annotate") as policy:
        policy.claim_folder(out, "annotations")
        with policy.publish(out / "a.jpg") as tmp:  # made by the first run: replaced
            Path(tmp).write_bytes(b"second run")
        with pytest.raises(OutputError, match="b.jpg: exists; pass --overwrite"):
            policy.claim_file(out / "b.jpg")
    assert (out / "a.jpg").read_bytes() == b"second run" and (out / "b.jpg").read_bytes().startswith(b"the user's")
    with pytest.raises(OutputError, match="holds annotated copies .written by predict., not a training run"):
        OutputPolicy("train").claim_folder(out, "run")


# -------------------------------------------------------------------- 4. concurrent writers
def test_two_writers_of_one_output_are_refused(tmp_path):
    target = tmp_path / "same.jsonl"
    folder = tmp_path / "run"
    folder.mkdir()
    with OutputPolicy("predict") as first:
        first.claim_file(target)
        first.claim_folder(folder, "run")
        with pytest.raises(OutputError, match=r"same.jsonl is in use by another command \(process \d+\)"):
            OutputPolicy("predict").claim_file(target)
        with pytest.raises(OutputError, match="is in use by another command"):
            OutputPolicy("train").claim_folder(folder, "run")
    with OutputPolicy("predict") as second:  # released: free again, and no lock file left beside the output
        second.claim_file(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# -------------------------------------------------------------------- 5. names checked before the work
@pytest.mark.parametrize("case, message", [
    ("300 characters", "file name too long"),
    ("250 characters", "file name too long to write safely"),
    ("symlink loop", "symlink loop"),
    ("under a file", "is a file, not a folder"),
])
@pytest.mark.parametrize("folder", [False, True])
def test_impossible_names_are_one_line_errors_naming_the_flag(case, message, folder, tmp_path):
    if case == "300 characters":
        path = tmp_path / ("x" * 300)
    elif case == "250 characters":
        if folder:
            pytest.skip("folders have no temporary beside them")
        path = tmp_path / ("x" * 250)
    elif case == "symlink loop":
        (tmp_path / "loop").symlink_to(tmp_path / "loop")
        path = tmp_path / "loop" / "out"
    else:
        (tmp_path / "file").write_text("keep")
        path = tmp_path / "file" / "out"
    with pytest.raises(OutputError, match=message) as caught:
        if folder:
            OutputPolicy("t", flag="--output").claim_folder(path, "run")
        else:
            check_output_path(path, flag="--json")
    text = str(caught.value)
    assert "\n" not in text and text.startswith("--output " if folder else "--json ")


def test_temporaries_of_non_utf8_names_are_ascii(tmp_path):
    """cv2.imwrite segfaults on an undecodable name; the temporary it is given never has one."""
    name = os.fsdecode(b"caf\xe9.png")
    seen = []
    with atomic_path(tmp_path / name) as tmp:
        seen.append(Path(tmp).name)
        Path(tmp).write_bytes(b"png")
    assert seen[0].isascii() and (tmp_path / name).read_bytes() == b"png"


def test_a_non_utf8_annotation_name_does_not_crash_opencv(tmp_path):
    target = os.fsencode(tmp_path) + b"/ivan\xff.jpg"
    code = ("import os, sys, numpy as np\n"
            "from dsan_tf.inference import save_rgb\n"
            "save_rgb(os.fsdecode(sys.argv[1].encode('utf-8', 'surrogateescape')), np.zeros((8, 8, 3), np.uint8))\n")
    done = subprocess.run([sys.executable, "-c", code, os.fsdecode(target)], capture_output=True, cwd=REPO,
                          timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-500:]
    assert os.path.getsize(target) > 0


# -------------------------------------------------------------------- 6. existing helpers keep working
def test_write_json_still_replaces_its_own_files(tmp_path):
    path = tmp_path / "metrics.json"
    write_json({"a": 1}, path)
    write_json({"a": 2}, path)
    assert path.read_text().strip().endswith("}") and '"a": 2' in path.read_text()


# -------------------------------------------------------------------- 7. pixels: one definition
BAD_PIXELS = [np.nan, np.inf, 1e30, -1e9, 300.0, 1000.0, -0.5]


@pytest.mark.parametrize("value", BAD_PIXELS)
def test_pixels_outside_0_255_are_an_error(value):
    from dsan_tf.pixels import check_pixels

    pixels = np.full((2, 8, 8, 3), 128.0, np.float32)
    pixels[1, 2, 3, 0] = value
    with pytest.raises(ValueError, match=r"pixels must be finite RGB values in \[0, 255\].*image\(s\) 1"):
        check_pixels(pixels)
    check_pixels(pixels[:1])
    check_pixels(np.array([[[[0.0, 255.0, 17.5]]]], np.float32))

# The SavedModel signature's check is tested in test_bad_input_tools.test_nan_pixels_are_an_error_not_an_answer,
# beside the serving module that test builds already (building one costs ~1 min on 2 cores).


# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


def _marked(folder: Path, kind: str, names):
    import json

    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"kind": kind, "command": "someone"})] + [json.dumps(n) for n in names]
    (folder / MARKER).write_text("\n".join(lines) + "\n")
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"kept")


def test_recorded_files_of_another_kind_are_never_removed(tmp_path):
    """outputs-recorded-files-of-any-kind: only a marker of the SAME kind lists files a rerun may delete."""
    folder = tmp_path / "out"
    _marked(folder, "alignment", ["a.png", "b.png"])
    assert outputs.remove_recorded_files(folder, "explanations") == []
    assert sorted(p.name for p in folder.glob("*.png")) == ["a.png", "b.png"]
    removed = outputs.remove_recorded_files(folder, "alignment")
    assert sorted(p.name for p in removed) == ["a.png", "b.png"]
    assert not list(folder.glob("*.png"))


def test_a_file_in_a_sub_folder_of_a_claimed_folder_is_recorded_and_replaced_on_a_rerun(tmp_path):
    """outputs-manifest-only-for-direct-children: annotated copies mirror their inputs' sub-folders
    (out/2024/a.png); the marker must list them so that a rerun of the same kind may replace them."""
    import json

    folder = tmp_path / "out"
    nested = folder / "2024" / "march" / "a.png"
    for run in (b"first", b"second"):
        with OutputPolicy("dsan predict") as policy:
            policy.claim_folder(folder, kind="annotations", flag="--annotate")
            policy.claim_file(nested, flag="--annotate")
            with policy.publish(nested) as tmp:
                Path(tmp).write_bytes(run)
        lines = (folder / MARKER).read_text().splitlines()
        assert json.loads(lines[0])["kind"] == "annotations"
        assert [json.loads(line) for line in lines[1:]] == ["2024/march/a.png"]
    assert nested.read_bytes() == b"second"


def test_a_whole_folder_output_never_replaces_a_folder_holding_an_input(tmp_path):
    """outputs-publish-folder-holding-an-input: publish_folder swaps the whole folder; one holding an input
    (here two levels down) is refused before any work, even with --overwrite, and the input is kept."""
    out = tmp_path / "out"
    source = out / "raw" / "fer2013.csv"
    source.parent.mkdir(parents=True)
    source.write_text("emotion,pixels,Usage\n")
    with OutputPolicy("dsan make-sample", flag="--out", overwrite=True, inputs=[source]) as policy:
        with pytest.raises(outputs.OutputError, match="holds the input"):
            with policy.publish_folder(out, kind="sample"):
                pass
    assert source.read_text() == "emotion,pixels,Usage\n"


def test_every_path_under_proc_is_written_through():
    """outputs-proc-not-written-through: /proc/self/fd/1 is stdout (a regular file when redirected); a /proc
    path is appended to, never renamed over, whatever stat says it is."""
    for path in ("/proc/self/status", "/proc/self/fd/1", "/proc/dsan-no-such/out.jsonl", "/dev/stdout"):
        assert outputs.is_write_through(path), path


def test_the_longest_name_whose_temporary_fits_is_accepted(tmp_path):
    """outputs-temp-name-limit-off-by-one: a temporary adds 1 + 1 + 7 + 1 + 8 + 16 = 34 bytes to a name,
    so names up to 255 - 34 = 221 bytes can be written safely and 222 cannot."""
    assert outputs.check_creatable(tmp_path / ("a" * 221), folder=False) == tmp_path / ("a" * 221)
    with pytest.raises(outputs.OutputError, match="too long to write safely"):
        outputs.check_creatable(tmp_path / ("a" * 222), folder=False)


def test_a_dangling_symlink_is_refused_when_claimed_not_after_the_work(tmp_path):
    """outputs-dangling-symlink-replaced: the name is taken (by a link to a file that does not exist yet):
    refused at the claim, before any work, unless --overwrite."""
    link = tmp_path / "result.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    with OutputPolicy("dsan predict") as policy:
        with pytest.raises(OutputError, match="is a symlink to a missing file; pass --overwrite"):
            policy.claim_file(link)
    with OutputPolicy("dsan predict", overwrite=True) as policy:
        assert policy.claim_file(link) == link


def test_a_path_component_of_255_bytes_is_allowed_and_256_is_not(tmp_path):
    """outputs-255-byte-name-refused: NAME_MAX is 255 bytes per component (a folder of that name can hold an
    output); 256 cannot exist."""
    folder = tmp_path / ("d" * 255)
    assert outputs.check_names(folder / "x.csv") == folder / "x.csv"
    assert outputs.check_creatable(folder / "x.csv", folder=False) == folder / "x.csv"
    with pytest.raises(OutputError, match=r"file name too long \(256 bytes"):
        outputs.check_names(tmp_path / ("d" * 256) / "x.csv")


def test_only_temporaries_of_writers_that_ended_are_cleaned(tmp_path):
    """outputs-live-writers-temporary-removed: a temporary of this (live) process is another writer's work in
    progress and is kept; one of a process that has ended is removed."""
    dead_pid = _dead_pid()
    target = tmp_path / "faces.csv"
    live = tmp_path / f".faces.csv.{os.getpid()}.0123abcd.csv"
    stale = tmp_path / f".faces.csv.{dead_pid}.89abcdef.csv"
    for path in (live, stale):
        path.write_text("partial")
    assert outputs.clean_stale_temps(target) == [stale]
    assert live.exists() and not stale.exists()


# round 2 blind mutants (issue 34)
def test_published_files_get_the_umask_mode_not_a_private_one(tmp_path):
    """r2-outputs-temporary-private-mode: a published file is made like any new file (0666 less the umask),
    not 0600: a results folder shared with a group stays readable."""
    old = os.umask(0o022)
    try:
        for name, write in sorted(WRITERS.items()):
            path = tmp_path / f"{name.replace('.', '_')}.bin"
            write(path)
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, name
    finally:
        os.umask(old)


def _abspath_of_length(folder, size):
    text = os.path.abspath(folder)
    while size - len(text) > 202:
        text += "/" + "a" * 200
    return Path(text + "/" + "b" * (size - len(text) - 1))


def test_a_path_of_path_max_bytes_is_refused_and_one_less_is_not(tmp_path):
    """r2-outputs-path-of-path-max-bytes-accepted: PATH_MAX (4096) counts the terminating NUL, so a path of
    4095 bytes is the longest one; 4096 is refused by name, before any work."""
    longest, too_long = _abspath_of_length(tmp_path, 4095), _abspath_of_length(tmp_path, 4096)
    assert (len(os.fsencode(longest)), len(os.fsencode(too_long))) == (4095, 4096)
    assert outputs.check_names(longest) == longest
    with pytest.raises(OutputError, match=r"--output .*: path too long \(4096 bytes as an absolute path; the limit is 4096\)"):
        outputs.check_names(too_long)


def test_the_installed_package_folder_itself_is_refused_as_an_output():
    """r2-outputs-package-folder-itself-accepted: the package folder, not only what lies inside it."""
    package = outputs.package_folder()
    for path in (package, package / "sample_data", package / "new.csv"):
        with pytest.raises(OutputError, match="lies inside the installed package dsan_tf"):
            outputs.check_outside_package(path, flag="--out")
    assert outputs.check_outside_package(package.parent / "not-the-package") == package.parent / "not-the-package"


def test_a_recorded_name_that_leads_outside_the_folder_is_never_removed(tmp_path):
    """r2-outputs-recorded-name-outside-folder-removed: a damaged or hand-edited manifest line '../notes.txt'
    must not delete the user's file beside the output folder."""
    folder = tmp_path / "out"
    folder.mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    (folder / "own.csv").write_text("old")
    (folder / MARKER).write_text('{"kind": "alignment", "command": "dsan align"}\n"own.csv"\n"../notes.txt"\n')
    assert outputs.remove_recorded_files(folder, "alignment") == [folder / "own.csv"]
    assert (tmp_path / "notes.txt").read_text() == "mine" and not (folder / "own.csv").exists()


def test_a_folder_holding_only_an_old_versions_lock_counts_as_empty(tmp_path):
    """r2-outputs-old-folder-lock-is-foreign: the '.lock' earlier versions kept inside a folder is not a
    user's file; the folder is accepted as empty and the stale lock removed."""
    folder = tmp_path / "faces"
    folder.mkdir()
    (folder / ".lock").write_text("12345\n")
    assert outputs.foreign_entries(folder) == []
    with OutputPolicy("dsan align") as policy:
        assert policy.claim_folder(folder, kind="alignment") == folder
    assert not (folder / ".lock").exists()


def test_folders_made_for_an_unused_output_are_all_removed_deepest_first(tmp_path):
    """r2-outputs-empty-folders-parent-first: a claim of a/b/c/out.csv made a, a/b and a/b/c; a run that ends
    before publishing leaves none of them (the parent can only go after its child)."""
    with OutputPolicy("dsan predict") as policy:
        policy.claim_file(tmp_path / "a" / "b" / "c" / "out.csv")
        assert (tmp_path / "a" / "b" / "c").is_dir()
    assert sorted(os.listdir(tmp_path)) == []
    made = [tmp_path / "x", tmp_path / "x" / "y", tmp_path / "x" / "y" / "z"]  # shallowest first
    for folder in made:
        folder.mkdir()
    outputs.remove_empty_folders(made)
    assert not (tmp_path / "x").exists()


def test_overwrite_of_a_symlinked_output_writes_the_file_it_points_to(tmp_path):
    """r2-outputs-overwrite-replaces-the-link: the link is the user's (e.g. results.csv -> runs/3/results.csv);
    --overwrite replaces what it points to and keeps the link."""
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "results.csv"
    link.symlink_to(real)
    policy_write(link, b"new\n", overwrite=True)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new\n"


def test_dev_stdout_redirected_to_a_file_with_append_is_appended_to(tmp_path):
    """r2-outputs-write-through-truncates: `dsan predict --output /dev/stdout >> log.jsonl` adds to the log;
    written through means appended, never truncated."""
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"earlier line\n")
    code = "from dsan_tf.io_utils import write_bytes; write_bytes('/dev/stdout', b'new line\\n')"
    with open(log, "ab") as sink:
        subprocess.run([sys.executable, "-c", code], stdout=sink, check=True, cwd=REPO)
    assert log.read_bytes() == b"earlier line\nnew line\n"


@pytest.mark.parametrize("writer", ["atomic_path", "policy.publish"])
def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temporary(writer, tmp_path):
    """r2-outputs-atomic-path-renames-on-failure: the rename happens only when the block succeeds."""
    path = tmp_path / "scores.json"
    path.write_bytes(b"old\n")
    with pytest.raises(RuntimeError, match="disk gone"):
        if writer == "atomic_path":
            with atomic_path(path) as tmp:
                Path(tmp).write_bytes(b"ha")
                raise RuntimeError("disk gone")
        else:
            with OutputPolicy("test", overwrite=True) as policy, policy.publish(path) as tmp:
                Path(tmp).write_bytes(b"ha")
                raise RuntimeError("disk gone")
    assert path.read_bytes() == b"old\n" and sorted(os.listdir(tmp_path)) == ["scores.json"]


def test_check_output_path_refuses_an_input_and_a_place_inside_an_input_folder(tmp_path):
    """r2-io-check-output-path-ignores-inputs: the inputs a caller names are never outputs."""
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(b"png")
    with pytest.raises(OutputError, match=r"--output .*a.png: is the input"):
        check_output_path(photos / "a.png", inputs=[photos / "a.png"])
    with pytest.raises(OutputError, match=r"--annotate .*out: lies inside the input folder"):
        check_output_path(photos / "out", inputs=[photos], folder=True, flag="--annotate")
    assert check_output_path(tmp_path / "out.csv", inputs=[photos]) == tmp_path / "out.csv"


# ---- lines its own tests never ran (issue 34)


def _refusal(call, *args, **kwargs) -> str:
    with pytest.raises(OutputError) as refused:
        call(*args, **kwargs)
    return str(refused.value)


def test_a_symlink_loop_a_folder_as_file_and_an_unwritable_parent_are_refused(tmp_path, monkeypatch):
    """check_names: a path through a symlink loop (os.stat's ELOOP); check_creatable: a folder given where a
    file name is expected, and a parent folder this user may not write (os.access stood in: root may)."""
    loop = tmp_path / "loop"
    os.symlink("loop", loop)
    assert _refusal(outputs.check_names, loop / "out.csv", "--annotate") == \
        f"--annotate {loop / 'out.csv'}: is or passes through a symlink loop"
    assert _refusal(outputs.check_creatable, tmp_path, folder=False) == \
        f"--output {tmp_path}: is a folder; expected a file name"
    assert outputs.check_creatable(tmp_path / "new" / "out.csv", folder=False) == tmp_path / "new" / "out.csv"
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: Path(path) != tmp_path)
    assert _refusal(outputs.check_creatable, tmp_path / "new" / "out.csv", folder=False, flag="--save") == \
        f"--save {tmp_path / 'new' / 'out.csv'}: cannot write in {tmp_path} (permission denied)"


def test_stale_temporaries_of_a_missing_folder_and_pids_that_cannot_be_alive(tmp_path, monkeypatch):
    """clean_stale_temps of a path whose folder does not exist removes nothing; _process_alive: a number
    past any pid is no process; another user's live process (PermissionError) is alive."""
    assert outputs.clean_stale_temps(tmp_path / "none" / "out.csv") == []
    assert outputs._process_alive(2**80) is False
    assert outputs._process_alive(os.getpid()) is True and outputs._process_alive(os.getppid()) is True

    def not_yours(pid, signal):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(outputs.os, "kill", not_yours)
    assert outputs._process_alive(4242) is True


def test_atomic_dir_refuses_an_existing_folder_unless_replace_and_then_swaps_it(tmp_path):
    target = tmp_path / "export" / "1"
    with atomic_dir(target) as tmp:
        (tmp / "saved_model.pb").write_bytes(b"old")
    with pytest.raises(FileExistsError, match="already exists"):
        with atomic_dir(target):
            pass
    with atomic_dir(target, replace=True) as tmp:
        (tmp / "saved_model.pb").write_bytes(b"new")
    assert (target / "saved_model.pb").read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["1"]  # the old one and every temporary gone


def test_write_json_turns_arrays_and_paths_into_json_and_refuses_other_objects(tmp_path):
    out = tmp_path / "metrics.json"
    write_json({"confusion": np.array([[1, 2], [3, 4]]), "score": np.float32(0.5), "run": Path("runs/a")}, out)
    assert json.loads(out.read_text()) == {"confusion": [[1, 2], [3, 4]], "score": 0.5, "run": "runs/a"}
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        write_json({"x": object()}, tmp_path / "other.json")
    assert json.loads(out.read_text())["run"] == "runs/a" and not (tmp_path / "other.json").exists()


def test_rename_no_replace_reports_other_errors_and_its_fallback_works(tmp_path, monkeypatch):
    """renameat2's other errors (a missing source: ENOENT) are an OSError naming both paths; without
    renameat2 a file goes by link + unlink, a folder by an exclusive mkdir then a rename, and a failed
    folder rename removes the folder it made."""
    with pytest.raises(OSError) as failed:
        outputs.rename_no_replace(tmp_path / "none", tmp_path / "b")
    assert failed.value.errno == errno.ENOENT and not isinstance(failed.value, FileExistsError)
    assert failed.value.filename == str(tmp_path / "none") and failed.value.filename2 == str(tmp_path / "b")
    monkeypatch.setattr(outputs, "_renameat2", None)
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "taken.txt").write_text("kept")
    outputs.rename_no_replace(tmp_path / "a.txt", tmp_path / "b.txt")
    assert (tmp_path / "b.txt").read_text() == "a" and not (tmp_path / "a.txt").exists()
    with pytest.raises(FileExistsError):
        outputs.rename_no_replace(tmp_path / "b.txt", tmp_path / "taken.txt")
    assert (tmp_path / "taken.txt").read_text() == "kept" and (tmp_path / "b.txt").exists()
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "f").write_text("f")
    outputs.rename_no_replace(tmp_path / "dir", tmp_path / "moved")
    assert (tmp_path / "moved" / "f").read_text() == "f" and not (tmp_path / "dir").exists()
    with pytest.raises(OSError):  # a folder into itself: EINVAL after the target was made
        outputs.rename_no_replace(tmp_path / "moved", tmp_path / "moved" / "inside")
    assert sorted(p.name for p in (tmp_path / "moved").iterdir()) == ["f"]


def test_exchange_swaps_two_folders_and_reports_a_missing_one(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "from_a").touch()
    assert outputs.exchange(tmp_path / "a", tmp_path / "b") is True
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["from_a"] and not any((tmp_path / "a").iterdir())
    with pytest.raises(OSError) as failed:
        outputs.exchange(tmp_path / "a", tmp_path / "none")
    assert failed.value.errno == errno.ENOENT and failed.value.filename2 == str(tmp_path / "none")


def test_a_marker_is_written_once_and_a_missing_folder_has_no_foreign_entries(tmp_path):
    outputs.write_marker(tmp_path / "out", "alignment", "align")
    outputs.write_marker(tmp_path / "out", "run", "train")  # kept: the folder is align's
    assert outputs.read_marker(tmp_path / "out") == ("alignment", "align", set())
    assert outputs.foreign_entries(tmp_path / "none") == []
    (tmp_path / "out" / ".lock").touch()
    (tmp_path / "out" / "b.png").touch()
    (tmp_path / "out" / "a.png").touch()
    assert outputs.foreign_entries(tmp_path / "out", ignore=("b.png",)) == ["a.png"]


def test_a_lock_on_a_file_system_without_locks_goes_on_unprotected(tmp_path, monkeypatch):
    def no_locks(handle, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(outputs.fcntl, "flock", no_locks)
    lock, created = outputs.lock_output(tmp_path / "new" / "out.csv", "--output out.csv")
    assert lock.handle is not None and created == [tmp_path / "new"]
    lock.release()
    assert lock.handle is None and not outputs.lock_path(tmp_path / "new" / "out.csv").exists()
    lock.release()  # twice: nothing


@pytest.mark.parametrize("recreate", [True, False])
def test_a_lock_file_replaced_or_removed_while_locking_is_locked_again(tmp_path, monkeypatch, recreate):
    """_Lock.acquire: when the lock file was removed (and maybe made anew) by its previous holder between
    open and flock, the flock is on a dead inode; the new file is opened and locked instead."""
    real = outputs.fcntl.flock
    target = tmp_path / "out.csv"
    path = outputs.lock_path(target)
    calls = []

    def flock(handle, operation):
        calls.append(operation)
        real(handle, operation)
        if len(calls) == 1:
            os.unlink(path)
            if recreate:
                path.write_text("")

    monkeypatch.setattr(outputs.fcntl, "flock", flock)
    lock, _ = outputs.lock_output(target, "--output out.csv")
    assert len(calls) == 2
    assert os.fstat(lock.handle.fileno()).st_ino == os.stat(path).st_ino
    assert path.read_text() == f"{os.getpid()}\n"
    lock.release()


def test_a_folder_whose_parent_is_read_only_is_locked_inside_and_an_old_held_lock_stays(tmp_path, monkeypatch):
    """lock_output: where the parent cannot be written, the lock is <folder>/.lock; an old version's
    <folder>/.lock that another process holds is left in place (and its holder's protection with it)."""
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with monkeypatch.context() as patched:
        patched.setattr(outputs.os, "access", lambda path, mode: Path(path) != tmp_path)
        lock, _ = outputs.lock_output(out, "--output out")
        assert lock.path == out / ".lock" and not outputs.lock_path(out).exists()
        lock.release()
    old = out / ".lock"
    with open(old, "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock, _ = outputs.lock_output(out, "--output out")
        assert lock.path == outputs.lock_path(out) and old.exists()
        lock.release()
    lock, _ = outputs.lock_output(out, "--output out")  # nobody holds it now: removed
    assert not old.exists()
    lock.release()


def test_claiming_twice_returns_at_once_and_reuse_false_refuses_a_marked_folder(tmp_path):
    out = tmp_path / "aligned"
    with OutputPolicy("align") as policy:
        assert policy.claim_folder(out, "alignment") == out
        assert policy.claim_folder(out, "alignment") == out and len(policy._locks) == 1
        policy._lock(out, "--output")
        assert len(policy._locks) == 1
        policy.claim_and_mark(out, "alignment")
    with OutputPolicy("align") as policy:
        assert _refusal(policy.claim_folder, out, "alignment", "--out", reuse=False) == \
            f"--out {out}: already holds aligned faces (dsan align); pick a new or empty --out"


def test_an_accepted_unmarked_folder_keeps_its_files_as_the_commands_own(tmp_path):
    """claim_folder(accept=...): a folder written before markers existed is adopted; its files are listed in
    the marker written at the first publish, and may be replaced without --overwrite."""
    out = tmp_path / "aligned"
    out.mkdir()
    (out / "a.png").write_bytes(b"old")
    (out / "b.png").write_bytes(b"old")
    with OutputPolicy("align") as policy:
        policy.claim_folder(out, "alignment", accept=lambda folder: (folder / "a.png").exists())
        with policy.publish(out / "a.png") as tmp:
            Path(tmp).write_bytes(b"new")
    assert (out / "a.png").read_bytes() == b"new"
    assert outputs.read_marker(out) == ("alignment", "align", {"a.png", "b.png"})
    refused_dir = tmp_path / "other"
    refused_dir.mkdir()
    (refused_dir / "x.png").touch()
    with OutputPolicy("align") as policy:
        assert "holds files this command did not make (x.png)" in _refusal(
            policy.claim_folder, refused_dir, "alignment", accept=lambda folder: False)


def test_publish_over_an_output_that_became_a_folder_replaces_nothing(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("old")
    with OutputPolicy("predict", overwrite=True) as policy:
        with pytest.raises(OutputError) as refused:
            with policy.publish(out) as tmp:
                Path(tmp).write_text("new")
                out.unlink()
                out.mkdir()
        assert str(refused.value) == (f"--output {out}: became a folder or device while the command ran; "
                                      "nothing was replaced")
    assert out.is_dir() and [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_publish_folder_refuses_a_symlink_and_a_folder_that_changed_or_appeared(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    with OutputPolicy("make-sample", flag="--out") as policy:
        assert _refusal(lambda: policy.publish_folder(link, "sample").__enter__()) == \
            f"--out {link}: is a symbolic link; give the folder itself ({real})"
    out = tmp_path / "sample"
    out.mkdir()
    with OutputPolicy("make-sample", flag="--out") as policy:
        with pytest.raises(OutputError) as refused:
            with policy.publish_folder(out, "sample") as tmp:
                (tmp / "x.csv").write_text("new")
                out.rmdir()
                out.write_text("a file now")
        assert str(refused.value) == f"--out {out}: is no longer a folder; nothing was replaced"
    assert out.read_text() == "a file now"
    out.unlink()


def test_publish_folder_keeps_a_folder_another_program_made_while_it_ran(tmp_path, monkeypatch):
    """A real bug found here (issue 34): a folder another program created and filled during the work was
    swapped out and deleted at the end (the claim's 'new, empty, ours or --overwrite' check ran only at the
    start). Now it is kept and the result not written, as publish() does for a file; the same holds when it
    appears between the last check and the rename (no-replace rename)."""
    out = tmp_path / "sample"
    with OutputPolicy("make-sample", flag="--out") as policy:
        with pytest.raises(OutputError) as refused:
            with policy.publish_folder(out, "sample") as tmp:
                (tmp / "x.csv").write_text("new")
                out.mkdir()
                (out / "theirs.csv").write_text("theirs")
        assert str(refused.value) == (f"--out {out}: was filled by another program while this command ran; it "
                                      "was kept, and this result not written")
    assert [p.name for p in out.iterdir()] == ["theirs.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample"]
    (out / "theirs.csv").unlink()
    out.rmdir()
    real = outputs.rename_no_replace

    def made_meanwhile(source, target):
        Path(target).mkdir()
        (Path(target) / "theirs.csv").write_text("theirs")
        real(source, target)

    monkeypatch.setattr(outputs, "rename_no_replace", made_meanwhile)
    with OutputPolicy("make-sample", flag="--out") as policy:
        with pytest.raises(OutputError) as refused:
            with policy.publish_folder(out, "sample") as tmp:
                (tmp / "x.csv").write_text("new")
        assert str(refused.value) == (f"--out {out}: was created by another program while this command ran; it "
                                      "was kept, and this result not written")
    assert [p.name for p in out.iterdir()] == ["theirs.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample"]
    # an empty folder made meanwhile holds nothing to lose: the result takes its place
    monkeypatch.undo()
    (out / "theirs.csv").unlink()
    with OutputPolicy("make-sample", flag="--out", overwrite=False) as policy:
        with policy.publish_folder(out, "sample") as tmp:
            (tmp / "x.csv").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "x.csv"]


def test_temporaries_are_named_from_a_printable_prefix_of_the_target_and_keep_its_suffix(tmp_path):
    """temp_path_beside: '.<name as printable ASCII, at most 100>.<pid>.<8 hex><suffix>', created empty (a
    file keeps a suffix of up to 16 characters, Keras insists on '.keras'; a folder has none); _shown
    prints undecodable bytes as \\xNN; describe_kind names known kinds and 'a <kind>' otherwise."""
    import re

    name = "é" * 3 + "x" * 200 + ".keras"
    tmp = outputs.temp_path_beside(tmp_path / name)
    assert tmp.parent == tmp_path and tmp.is_file() and tmp.stat().st_size == 0
    assert re.fullmatch(rf"\.{'_' * 3}{'x' * 97}\.{os.getpid()}\.[0-9a-f]{{8}}\.keras", tmp.name), tmp.name
    folder = outputs.temp_path_beside(tmp_path / "v1.keras", directory=True)
    assert folder.is_dir() and re.fullmatch(rf"\.v1\.keras\.{os.getpid()}\.[0-9a-f]{{8}}", folder.name)
    long_suffix = outputs.temp_path_beside(tmp_path / ("a." + "s" * 17))
    assert re.fullmatch(rf"\.a\.{'s' * 17}\.{os.getpid()}\.[0-9a-f]{{8}}", long_suffix.name)
    assert outputs._shown(os.fsencode("faces") + b"/\xff.png") == "faces/\\xff.png"
    assert outputs._shown(Path(os.fsdecode(b"\xfe.csv"))) == "\\xfe.csv"
    assert outputs.describe_kind("run") == "a training run" and outputs.describe_kind("sample") == "a sample"


def test_without_renameat2_flags_the_fallbacks_publish_files_and_swap_folders(tmp_path, monkeypatch):
    """A file system that answers renameat2's flags with EINVAL: rename_no_replace falls back to link +
    unlink, exchange says False, and publish_folder replaces an earlier run's folder in two renames,
    deleting the old one and leaving no temporary."""
    import ctypes

    def no_flags(*args):
        ctypes.set_errno(errno.EINVAL)
        return -1

    monkeypatch.setattr(outputs, "_renameat2", no_flags)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert outputs.exchange(tmp_path / "a", tmp_path / "b") is False
    (tmp_path / "a.txt").write_text("a")
    outputs.rename_no_replace(tmp_path / "a.txt", tmp_path / "c.txt")
    assert (tmp_path / "c.txt").read_text() == "a" and not (tmp_path / "a.txt").exists()
    out = tmp_path / "sample"
    for content in ("first", "second"):
        with OutputPolicy("make-sample", flag="--out") as policy:
            with policy.publish_folder(out, "sample") as staging:
                (staging / "x.csv").write_text(content)
    assert (out / "x.csv").read_text() == "second" and sorted(p.name for p in out.iterdir()) == [MARKER, "x.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c.txt", "sample"]


# ---- round 3 blind mutants (issue 34)


def test_read_json_object_names_the_file_what_is_wrong_and_the_callers_hint(tmp_path):
    """r3-io_utils-read-json-object-drops-hint: the old reader's hint (what to do) reaches the message, for a
    damaged file and for JSON that is not an object."""
    from dsan_tf.errors import UserError
    from dsan_tf.io_utils import read_json_object

    damaged = tmp_path / "settings.json"
    damaged.write_text('{"size": 4')
    with pytest.raises(UserError) as caught:
        read_json_object(damaged, hint="delete it and run the command again")
    assert "settings.json" in str(caught.value) and "delete it and run the command again" in str(caught.value)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(UserError) as caught:
        read_json_object(listed, hint="write an object")
    assert "list.json" in str(caught.value) and "write an object" in str(caught.value)
    good = tmp_path / "good.json"
    good.write_text('{"size": 4}')
    assert read_json_object(good, hint="unused") == {"size": 4}


# ---- round 5 blind mutants (issue 34)
def test_overwrite_lets_a_command_use_an_unmarked_folder_of_other_files(tmp_path):
    """r5-outputs-overwrite-ignored-for-unmarked-folder: a folder of someone else's files (no marker) is refused
    without --overwrite and accepted with it (claim_folder's docstring); the user's file there is then
    replaced only when the command writes that very name, the other one is kept."""
    out = tmp_path / "annotated"
    out.mkdir()
    (out / "ivan.jpg").write_bytes(b"the user's photo")
    (out / "olga.jpg").write_bytes(b"another photo")
    with pytest.raises(OutputError, match="holds files this command did not make"):
        OutputPolicy("predict").claim_folder(out, "annotations", flag="--annotate")
    with OutputPolicy("predict", flag="--annotate", overwrite=True) as policy:
        policy.claim_folder(out, "annotations")
        with policy.publish(out / "ivan.jpg") as tmp:
            Path(tmp).write_bytes(b"annotated")
    assert (out / "ivan.jpg").read_bytes() == b"annotated" and (out / "olga.jpg").read_bytes() == b"another photo"
    assert outputs.read_marker(out) == ("annotations", "predict", {"ivan.jpg"})


def test_publish_folder_never_swaps_out_a_folder_marked_for_another_kind(tmp_path):
    """r5-outputs-publish-folder-any-kind-is-ours: a folder marked as a training run is not publish_folder's
    to replace with a sample (the marker must name the same kind): refused before any work, and kept."""
    out = tmp_path / "data"
    out.mkdir()
    outputs.write_marker(out, "run", "train")
    (out / "model.keras").write_bytes(b"weeks of training")
    with OutputPolicy("dsan make-sample", flag="--out") as policy:
        with pytest.raises(OutputError, match="holds files this command did not make .model.keras."):
            with policy.publish_folder(out, kind="sample") as tmp:
                (Path(tmp) / "labels.csv").write_text("a,b\n")
    assert (out / "model.keras").read_bytes() == b"weeks of training"
    assert outputs.read_marker(out)[0] == "run"


# ---- round 7 blind mutants (issue 34)
def test_reuse_false_refuses_a_marked_folder_even_with_overwrite(tmp_path):
    """r7-outputs-overwrite-lets-fresh-folder-reuse: claim_folder(reuse=False) takes only a new or empty folder
    (its docstring); --overwrite accepts an unmarked folder of other files, never a second result of the same
    kind mixed into the first one."""
    out = tmp_path / "aligned"
    with OutputPolicy("align") as policy:
        policy.claim_and_mark(out, "alignment")
    (out / "face.png").write_bytes(b"first run")
    with OutputPolicy("align", overwrite=True) as policy:
        assert _refusal(policy.claim_folder, out, "alignment", "--out", reuse=False) == \
            f"--out {out}: already holds aligned faces (dsan align); pick a new or empty --out"
    assert (out / "face.png").read_bytes() == b"first run"


@pytest.mark.parametrize("damage", [b"", b"\xff\xfe not json\n", b'["a list", "not an object"]\n', b'{"no": "kind"}\n'])
def test_a_folder_with_only_a_damaged_marker_is_someones_and_refused(tmp_path, damage):
    """r7-outputs-damaged-marker-counts-as-none: an unreadable marker (empty, not JSON, no "kind") is a marker of
    kind "?" (read_marker's docstring): the folder holds nothing else, yet no command may take it as empty."""
    out = tmp_path / "aligned"
    out.mkdir()
    (out / MARKER).write_bytes(damage)
    assert outputs.read_marker(out) == ("?", "?", set())
    with OutputPolicy("align") as policy:
        assert _refusal(policy.claim_folder, out, "alignment", "--out") == (
            f"--out {out}: holds an output with an unreadable marker (written by ?), not aligned faces "
            "(dsan align); pick another --out")


# ---- issue 34: line-by-line sweep (outputs.py)


def _dead_pid() -> int:
    """The id of a process that has ended (its temporaries are stale)."""
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(ended.stdout)


def test_what_is_written_through_by_place_and_by_type(tmp_path, monkeypatch):
    """is_write_through: /dev itself and every /dev or /proc path, also one given relative to the current folder
    (/proc/self/status is a regular file by stat); elsewhere a pipe is, a file, a folder or a missing path is not."""
    assert outputs.is_write_through("/dev")
    monkeypatch.chdir("/")
    assert outputs.is_write_through("proc/self/status")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "file.csv").write_text("x")
    (tmp_path / "folder").mkdir()
    assert [outputs.is_write_through(tmp_path / name) for name in ("pipe", "file.csv", "folder", "none")] == \
        [True, False, False, False]


def test_a_relative_path_is_measured_by_its_absolute_length(tmp_path, monkeypatch):
    """check_names: PATH_MAX (4096, with the NUL) holds for the absolute path: in a folder of 3900 bytes a
    relative name of 196 bytes makes 4097 and is refused, one of 194 makes 4095 and is accepted."""
    deep = _abspath_of_length(tmp_path, 3900)
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    with pytest.raises(OutputError, match=r"path too long"):
        outputs.check_names("b" * 196)
    assert outputs.check_names("b" * 194) == Path("b" * 194)


def test_name_limits_count_bytes_not_characters(tmp_path):
    """'é' is two bytes in UTF-8: 128 of them (256 bytes) exceed NAME_MAX; 111 (222 bytes) leave no room for the
    temporary's 34 extra bytes; 110 and an 'a' (221 bytes) fit."""
    with pytest.raises(OutputError, match=r"file name too long \(256 bytes"):
        outputs.check_names(tmp_path / ("é" * 128))
    with pytest.raises(OutputError, match=r"too long to write safely \(222 bytes; at most 221\)"):
        outputs.check_creatable(tmp_path / ("é" * 111), folder=False)
    assert outputs.check_creatable(tmp_path / ("é" * 110 + "a"), folder=False) == tmp_path / ("é" * 110 + "a")


def test_an_input_is_recognised_given_relative_through_a_link_or_after_a_none(tmp_path, monkeypatch):
    """check_creatable compares resolved paths: an input given relative, an output that is a link to the input,
    a place two levels inside an input folder; a None among the inputs (an optional flag) is skipped, not the
    end of the list."""
    photo = tmp_path / "photos" / "a.png"
    photo.parent.mkdir()
    photo.write_bytes(b"png")
    (tmp_path / "link.png").symlink_to(photo)
    monkeypatch.chdir(tmp_path)
    assert "is the input" in _refusal(check_output_path, photo, inputs=[Path("photos/a.png")])
    assert "is the input" in _refusal(check_output_path, "link.png", inputs=[photo])
    assert "is the input" in _refusal(check_output_path, photo, inputs=[None, photo])
    assert "lies inside the input folder photos" in _refusal(
        check_output_path, photo.parent / "sub" / "deeper" / "out.png", inputs=["photos"])
    assert check_output_path(tmp_path / "out.png", inputs=[None, "photos"]) == tmp_path / "out.png"


def test_the_policy_refuses_its_inputs_for_files_and_folders_and_skips_a_none(tmp_path):
    """OutputPolicy(inputs=...) reaches claim_file and claim_folder; an input of None (a flag not given) is dropped."""
    photo = tmp_path / "photos" / "a.png"
    photo.parent.mkdir()
    photo.write_bytes(b"png")
    with OutputPolicy("predict", overwrite=True, inputs=[None, photo, photo.parent]) as policy:
        assert f"--output {photo}: is the input {photo}" in _refusal(policy.claim_file, photo)
        assert "lies inside the input folder" in _refusal(policy.claim_folder, photo.parent / "out", "annotations",
                                                          flag="--annotate")
    assert photo.read_bytes() == b"png"


def test_a_pipe_with_a_long_name_is_accepted_it_has_no_temporary(tmp_path):
    """check_creatable: a pipe is written through, so the temporary's room is not needed: a 230-byte pipe name
    is accepted where a 230-byte file name is not."""
    fifo = tmp_path / ("p" * 230)
    os.mkfifo(fifo)
    assert outputs.check_creatable(fifo, folder=False) == fifo
    assert "too long to write safely" in _refusal(outputs.check_creatable, tmp_path / ("f" * 230), folder=False)


def test_an_existing_output_folder_must_itself_be_writable_and_enterable(tmp_path, monkeypatch):
    """check_creatable(folder=True) of an existing folder asks os.access of that folder (not its parent), for
    writing AND entering (W_OK | X_OK): a folder one may write but not enter cannot take files."""
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: Path(path) != out)
    assert _refusal(outputs.check_creatable, out, folder=True, flag="--annotate") == \
        f"--annotate {out}: cannot write in {out} (permission denied)"
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: not (Path(path) == tmp_path and mode & os.X_OK))
    assert "(permission denied)" in _refusal(outputs.check_creatable, tmp_path / "new.csv", folder=False)


def test_stale_temporaries_of_a_name_with_glob_and_regex_characters_are_cleaned_exactly(tmp_path):
    """clean_stale_temps escapes the target's name for glob ('[1]') and for the regex ('+', '('), and takes only
    whole temporary names: a user's '.<temporary>.orig' beside it is kept."""
    dead = _dead_pid()
    target = tmp_path / "faces [1]+(2).csv"
    stale = tmp_path / f".faces [1]+(2).csv.{dead}.89abcdef.csv"
    kept = tmp_path / f".faces [1]+(2).csv.{dead}.89abcdef.csv.orig"
    for path in (stale, kept):
        path.write_text("x")
    assert outputs.clean_stale_temps(target) == [stale]
    assert kept.exists() and not stale.exists()


def test_stale_temporaries_that_are_links_are_unlinked_never_followed(tmp_path):
    """_remove: a stale temporary that is a link to a folder, or a dangling link, is the link itself to delete;
    the folder it points to and its files are kept."""
    dead = _dead_pid()
    user = tmp_path / "user"
    user.mkdir()
    (user / "keep.txt").write_text("mine")
    to_folder = tmp_path / f".out.csv.{dead}.0123abcd.csv"
    dangling = tmp_path / f".out.csv.{dead}.89abcdef.csv"
    to_folder.symlink_to(user)
    dangling.symlink_to(tmp_path / "none")
    assert sorted(outputs.clean_stale_temps(tmp_path / "out.csv")) == sorted([to_folder, dangling])
    assert not os.path.lexists(to_folder) and not os.path.lexists(dangling)
    assert (user / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("writer", sorted(WRITERS) + ["atomic_dir", "publish_folder"])
def test_every_writer_cleans_a_dead_writers_temporary_of_its_target(writer, tmp_path):
    dead = _dead_pid()
    if writer in ("atomic_dir", "publish_folder"):
        target = tmp_path / "v1"
        stale = tmp_path / f".v1.{dead}.0123abcd"
        stale.mkdir()
        (stale / "half.pb").write_text("half")
        if writer == "atomic_dir":
            with atomic_dir(target) as tmp:
                (tmp / "saved_model.pb").write_text("pb")
        else:
            with OutputPolicy("ship", flag="--out") as policy, policy.publish_folder(target, "sample") as tmp:
                (tmp / "saved_model.pb").write_text("pb")
    else:
        target = tmp_path / "out.csv"
        stale = tmp_path / f".out.csv.{dead}.0123abcd.csv"
        stale.write_text("half")
        WRITERS[writer](target)
    assert sorted(os.listdir(tmp_path)) == [target.name]


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_every_writer_creates_the_missing_folders_of_its_target(writer, tmp_path):
    target = tmp_path / "new" / "deeper" / "out.csv"
    WRITERS[writer](target, b"x\n")
    assert target.read_bytes() == b"x\n" and sorted(os.listdir(target.parent)) == ["out.csv"]


def test_temporary_suffixes_of_16_characters_are_kept_and_of_17_dropped(tmp_path):
    """_temp_suffix and write_through keep a suffix of up to 16 characters (the dot included)."""
    kept = outputs.temp_path_beside(tmp_path / ("a." + "s" * 15))
    dropped = outputs.temp_path_beside(tmp_path / ("b." + "s" * 16))
    assert kept.name.endswith("." + "s" * 15) and not dropped.name.endswith("s")
    for name, kept in (("log." + "j" * 15, True), ("log." + "j" * 16, False)):
        (tmp_path / name).write_text("")
        with outputs.write_through(tmp_path / name) as tmp:
            assert tmp.endswith(Path(name).suffix) is kept and tmp.endswith("j") is kept, tmp


def test_write_through_appends_only_on_success_and_leaves_no_temporary(tmp_path, monkeypatch):
    """write_through: the system-temporary file is deleted after success and after an error; an error appends
    nothing to the target."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(outputs.tempfile, "tempdir", str(scratch))
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"old\n")
    with outputs.write_through(log) as tmp:
        Path(tmp).write_bytes(b"new\n")
    with pytest.raises(RuntimeError):
        with outputs.write_through(log) as tmp:
            Path(tmp).write_bytes(b"half")
            raise RuntimeError("killed")
    assert log.read_bytes() == b"old\nnew\n" and os.listdir(scratch) == []


def test_write_json_keeps_key_order_indents_by_two_and_ends_with_a_newline(tmp_path):
    out = tmp_path / "m.json"
    write_json({"b": 1, "a": [1, 2]}, out)
    assert out.read_text() == '{\n  "b": 1,\n  "a": [\n    1,\n    2\n  ]\n}\n'
    write_text(tmp_path / "t.txt", "é\n")
    assert (tmp_path / "t.txt").read_bytes() == b"\xc3\xa9\n"


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM])
def test_every_unsupported_renameat2_answer_falls_back(code, tmp_path, monkeypatch):
    """rename_no_replace and exchange treat EINVAL, ENOSYS, ENOTSUP and EPERM as 'this file system cannot':
    the fallback renames, exchange says False."""
    import ctypes

    def unsupported(*args):
        ctypes.set_errno(code)
        return -1

    monkeypatch.setattr(outputs, "_renameat2", unsupported)
    (tmp_path / "a.txt").write_text("a")
    outputs.rename_no_replace(tmp_path / "a.txt", tmp_path / "b.txt")
    assert (tmp_path / "b.txt").read_text() == "a" and not (tmp_path / "a.txt").exists()
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    assert outputs.exchange(tmp_path / "x", tmp_path / "y") is False


def test_the_fallback_rename_moves_a_link_to_a_folder_as_a_link(tmp_path, monkeypatch):
    """rename_no_replace without renameat2: a link to a folder is not a folder (link + unlink, not mkdir)."""
    monkeypatch.setattr(outputs, "_renameat2", None)
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("f")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    outputs.rename_no_replace(tmp_path / "link", tmp_path / "moved")
    assert (tmp_path / "moved").is_symlink() and os.readlink(tmp_path / "moved") == str(tmp_path / "real")
    assert not os.path.lexists(tmp_path / "link") and (tmp_path / "real" / "f").read_text() == "f"


def test_a_link_into_the_package_is_refused_as_an_output(tmp_path):
    """check_outside_package resolves links: a folder of one's own that links to the package is the package."""
    (tmp_path / "pkg").symlink_to(outputs.package_folder())
    assert "lies inside the installed package dsan_tf" in _refusal(
        outputs.check_outside_package, tmp_path / "pkg" / "new.csv", flag="--out")


def test_remove_recorded_files_removes_nested_files_and_never_links_folders_or_unrecorded_files(tmp_path,
                                                                                                monkeypatch):
    """remove_recorded_files: a recorded 'sub/a.png' is removed; a recorded name that is now a link (even to a file
    inside the folder) or a folder is kept, as is every file not recorded. The returned list holds the paths
    as folder / name (the folder as given, here relative)."""
    folder = tmp_path / "out"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.png").write_text("ours")
    (folder / "user.csv").write_text("the user's")
    (folder / "latest.csv").symlink_to("user.csv")
    (folder / "dir.png").mkdir()
    (folder / MARKER).write_text('{"kind": "alignment", "command": "dsan align"}\n'
                                 '"sub/a.png"\n"latest.csv"\n"dir.png"\n')
    monkeypatch.chdir(tmp_path)
    assert outputs.remove_recorded_files(Path("out"), "alignment") == [Path("out") / "sub" / "a.png"]
    assert not (folder / "sub" / "a.png").exists() and (folder / "latest.csv").is_symlink()
    assert (folder / "user.csv").read_text() == "the user's" and (folder / "dir.png").is_dir()


def test_a_marker_with_blank_lines_or_no_command_is_still_read_and_one_that_is_a_folder_is_unreadable(tmp_path):
    (tmp_path / MARKER).write_text('{"kind": "alignment"}\n\n"a.png"\n  \n"b c.png"\n')
    assert outputs.read_marker(tmp_path) == ("alignment", "?", {"a.png", "b c.png"})
    other = tmp_path / "other"
    (other / MARKER).mkdir(parents=True)
    assert outputs.read_marker(other) == ("?", "?", set())


def test_every_kind_has_its_own_description():
    expected = {"run": "a training run", "evaluation": "an evaluation (--eval-only)", "export": "an export",
                "annotations": "annotated copies", "?": "an output with an unreadable marker",
                "alignment": "aligned faces (dsan align)", "tfrecords": "TFRecord shards (dsan tfrecords)",
                "analysis": "analysis figures (dsan analyze)", "explanations": "heatmap grids (dsan explain)",
                "tflite export": "a TFLite export (dsan export tflite)", "bench report": "a benchmark report",
                "sample": "a sample"}
    assert {kind: outputs.describe_kind(kind) for kind in expected} == expected


def test_a_lock_names_its_holder_and_the_callers_words(tmp_path):
    """The refusal names the process holding the lock (its pid, read from the lock file) and lock_output's
    holder_kind / advice (what runner passes)."""
    target = tmp_path / "run"
    first, _ = outputs.lock_output(target, f"--output {target}")
    try:
        assert _refusal(outputs.lock_output, target, str(target), holder_kind="another run",
                        advice="pick another --output") == (
            f"{target} is in use by another run (process {os.getpid()}); wait for it to end or pick another --output")
        with OutputPolicy("predict") as policy:
            assert f"(process {os.getpid()})" in _refusal(policy.claim_folder, target, "run")
    finally:
        first.release()


def test_a_lock_file_left_by_a_killed_holder_is_taken_over_and_holds_only_the_new_pid(tmp_path):
    target = tmp_path / "out.csv"
    lock_file = tmp_path / ".out.csv.lock"
    assert outputs.lock_path(target) == lock_file
    lock_file.write_text("4194303 a long stale line\n")
    lock, created = outputs.lock_output(target, "--output out.csv")
    assert lock_file.read_text() == f"{os.getpid()}\n" and created == []
    lock.release()
    assert not lock_file.exists()


def test_lock_file_names_are_printable_ascii_beside_the_output(tmp_path):
    assert outputs.lock_path(tmp_path / "Run 1" / "café.csv") == tmp_path / "Run 1" / ".caf_.csv.lock"
    assert outputs.lock_path(tmp_path / "runs" / "a") == tmp_path / "runs" / ".a.lock"


def test_folders_made_for_a_lock_that_could_not_be_opened_are_removed(tmp_path, monkeypatch):
    """lock_output: the parent folders it made are removed when taking the lock fails (here the lock file
    cannot be opened)."""
    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(outputs, "open", refused, raising=False)
    with pytest.raises(PermissionError):
        outputs.lock_output(tmp_path / "a" / "b" / "out.csv", "--output out.csv")
    assert os.listdir(tmp_path) == []


def test_a_file_whose_parent_is_read_only_is_still_locked_beside_it(tmp_path, monkeypatch):
    """lock_output takes the lock inside only for an existing folder; a file's lock stays beside it."""
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: Path(path) != tmp_path)
    lock, _ = outputs.lock_output(tmp_path / "out.csv", "--output out.csv")
    assert lock.path == tmp_path / ".out.csv.lock"
    lock.release()


def test_an_old_lock_that_is_a_link_is_never_followed_nor_removed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    (out / ".lock").symlink_to(notes)
    lock, _ = outputs.lock_output(out, "--output out")
    lock.release()
    assert (out / ".lock").is_symlink() and notes.read_text() == "mine"


@pytest.mark.parametrize("count, shown", [(4, "a.jpg, b.jpg, c.jpg, d.jpg"), (5, "a.jpg, b.jpg, c.jpg, d.jpg, ...")])
def test_a_refusal_lists_four_foreign_files_and_dots_only_beyond(tmp_path, count, shown):
    out = tmp_path / "out"
    out.mkdir()
    for name in "abcde"[:count]:
        (out / f"{name}.jpg").write_text("user")
    with OutputPolicy("predict", flag="--annotate") as policy:
        assert f"holds files this command did not make ({shown}); pick" in _refusal(
            policy.claim_folder, out, "annotations")
        assert f"holds files this command did not make ({shown}); pick" in _refusal(
            lambda: policy.publish_folder(out, "sample").__enter__())


def test_a_second_claim_of_a_file_returns_at_once(tmp_path):
    """claim_file of a path already claimed returns without checking again (the docstring); the file another
    program made meanwhile is then kept by the no-replace rename."""
    out = tmp_path / "out.csv"
    with OutputPolicy("predict") as policy:
        policy.claim_file(out)
        out.write_text("theirs")
        assert policy.claim_file(out) == out
        with pytest.raises(OutputError, match="was created by another program"):
            with policy.publish(out) as tmp:
                Path(tmp).write_text("mine")
    assert out.read_text() == "theirs"


def test_files_of_a_claimed_folder_need_no_lock_of_their_own(tmp_path):
    out = tmp_path / "annotated"
    with OutputPolicy("predict", flag="--annotate") as policy:
        policy.claim_folder(out, "annotations")
        for name in ("a.png", "b.png", "sub/c.png"):
            policy.claim_file(out / name)
        assert len(policy._locks) == 1 and os.listdir(tmp_path) == [".annotated.lock"]
    assert os.listdir(tmp_path) == []


def test_publish_with_overwrite_never_replaces_a_pipe_that_appeared(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("old")
    with OutputPolicy("predict", overwrite=True) as policy:
        with pytest.raises(OutputError, match="became a folder or device while the command ran"):
            with policy.publish(out) as tmp:
                Path(tmp).write_text("new")
                out.unlink()
                os.mkfifo(out)
    assert stat.S_ISFIFO(os.lstat(out).st_mode) and os.listdir(tmp_path) == ["out.csv"]


def test_publish_folder_replaces_unmarked_files_with_overwrite_or_accept_and_marks_its_result(tmp_path):
    """publish_folder: an unmarked folder of other files is replaced with --overwrite, or when accept() says it
    is this command's; the result carries a marker of the kind and the command; the old files are gone."""
    for overwrite, accept in ((True, None), (False, lambda folder: (folder / "old.csv").exists())):
        out = tmp_path / f"sample-{overwrite}"
        out.mkdir()
        (out / "old.csv").write_text("old")
        with OutputPolicy("make-sample", flag="--out", overwrite=overwrite) as policy:
            with policy.publish_folder(out, "sample", accept=accept) as tmp:
                (tmp / "new.csv").write_text("new")
        assert sorted(p.name for p in out.iterdir()) == [MARKER, "new.csv"]
        assert outputs.read_marker(out) == ("sample", "make-sample", set())
    assert sorted(os.listdir(tmp_path)) == ["sample-False", "sample-True"]


def test_publish_folder_holds_the_lock_while_it_works(tmp_path):
    out = tmp_path / "sample"
    with OutputPolicy("make-sample", flag="--out") as first, first.publish_folder(out, "sample") as tmp:
        (tmp / "x.csv").write_text("first")
        with OutputPolicy("make-sample", flag="--out") as second:
            assert "is in use by another command" in _refusal(
                lambda: second.publish_folder(out, "sample").__enter__())
    assert (out / "x.csv").read_text() == "first"


def test_claim_and_mark_lists_the_adopted_files_at_once_in_sorted_order(tmp_path):
    """claim_and_mark with accept: the marker is written at the claim and lists the files adopted, one JSON
    name a line, sorted."""
    out = tmp_path / "aligned"
    out.mkdir()
    names = ["f.png", "b.png", "e e.png", "a.png", "d.png", "c.png"]
    for name in names:
        (out / name).write_bytes(b"old")
    with OutputPolicy("align") as policy:
        policy.claim_and_mark(out, "alignment", accept=lambda folder: True)
        lines = (out / MARKER).read_text().splitlines()
    assert json.loads(lines[0]) == {"kind": "alignment", "command": "align"}
    assert [json.loads(line) for line in lines[1:]] == sorted(names)


def test_safe_names_keep_printable_ascii_from_space_to_tilde(tmp_path):
    assert outputs._safe_name("a b~\x7f\té!") == "a b~___!"


def test_os_error_line_names_the_file_and_the_reason_alone_without_one():
    from dsan_tf.io_utils import os_error_line

    assert os_error_line(OSError(errno.ENOENT, "No such file or directory", "x.csv")) == \
        "x.csv: No such file or directory"
    assert os_error_line(OSError(errno.ENOSPC, "No space left on device")) == "No space left on device"
    assert os_error_line(OSError("disk gone")) == "disk gone"


def test_check_output_path_passes_its_flag_on(tmp_path):
    assert _refusal(check_output_path, tmp_path, flag="--json") == \
        f"--json {tmp_path}: is a folder; expected a file name"


def test_published_folders_get_the_umask_mode_not_a_private_one(tmp_path):
    """temp_path_beside(directory=True) makes the folder like any mkdir (0777 less the umask): an export or a
    sample published as a whole stays readable by the group."""
    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "export" / "1") as tmp:
            (tmp / "saved_model.pb").write_bytes(b"pb")
        with OutputPolicy("make-sample", flag="--out") as policy, policy.publish_folder(tmp_path / "s", "sample"):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "export" / "1").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o755


def test_atomic_dir_with_replace_also_makes_a_new_folder_and_writers_hand_out_text_names(tmp_path):
    """atomic_dir(replace=True) of a folder that does not exist yet simply publishes it; atomic_path and
    publish hand out the temporary as a str (cv2 and Keras take text names)."""
    with atomic_dir(tmp_path / "new", replace=True) as tmp:
        (tmp / "a").write_text("a")
    assert sorted(os.listdir(tmp_path)) == ["new"] and (tmp_path / "new" / "a").read_text() == "a"
    with atomic_path(tmp_path / "x.csv") as tmp:
        assert type(tmp) is str and Path(tmp).parent == tmp_path
        Path(tmp).write_text("x")
    with OutputPolicy("t") as policy, policy.publish(tmp_path / "y.csv") as tmp:
        assert type(tmp) is str
        Path(tmp).write_text("y")


def test_a_non_utf8_name_is_recorded_and_replaced_on_a_rerun(tmp_path):
    """record_in_marker writes the name JSON-escaped (a lone surrogate as \\udcff, ASCII): it is read back, so a
    rerun replaces the file without --overwrite."""
    out = tmp_path / "annotated"
    name = os.fsdecode(b"ivan\xff.jpg")
    for run in (b"first", b"second"):
        with OutputPolicy("predict", flag="--annotate") as policy:
            policy.claim_folder(out, "annotations")
            with policy.publish(out / name) as tmp:
                Path(tmp).write_bytes(run)
    assert (out / name).read_bytes() == b"second"
    assert outputs.read_marker(out) == ("annotations", "predict", {name})
    assert (out / MARKER).read_bytes().isascii()


def test_overwrite_of_a_dangling_link_replaces_the_link_not_the_place_it_points_to(tmp_path):
    link = tmp_path / "result.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    policy_write(link, b"new\n", overwrite=True)
    assert not link.is_symlink() and link.read_bytes() == b"new\n"
    assert sorted(os.listdir(tmp_path)) == ["result.csv"]


def test_publish_folder_never_swaps_a_folder_that_became_a_link(tmp_path):
    out = tmp_path / "sample"
    out.mkdir()
    other = tmp_path / "other"
    other.mkdir()
    (other / "theirs.csv").write_text("theirs")
    with OutputPolicy("make-sample", flag="--out") as policy:
        with pytest.raises(OutputError, match="is no longer a folder; nothing was replaced"):
            with policy.publish_folder(out, "sample") as tmp:
                (tmp / "x.csv").write_text("new")
                out.rmdir()
                out.symlink_to(other)
    assert out.is_symlink() and [p.name for p in other.iterdir()] == ["theirs.csv"]


def test_a_folder_claimed_relative_records_files_published_by_absolute_path(tmp_path, monkeypatch):
    """The manifest name is relative to the folder however each was spelled: claimed as 'out', published as
    /abs/out/a.png, it lists 'a.png', and a rerun spelled the other way round replaces it."""
    monkeypatch.chdir(tmp_path)
    with OutputPolicy("align", flag="--out") as policy:
        policy.claim_folder(Path("out"), "alignment")
        with policy.publish(tmp_path / "out" / "a.png") as tmp:
            Path(tmp).write_bytes(b"first")
    assert outputs.read_marker(tmp_path / "out") == ("alignment", "align", {"a.png"})
    with OutputPolicy("align", flag="--out") as policy:
        policy.claim_folder(tmp_path / "out", "alignment")
        with policy.publish(Path("out/a.png")) as tmp:
            Path(tmp).write_bytes(b"second")
    assert (tmp_path / "out" / "a.png").read_bytes() == b"second"
    assert outputs.read_marker(tmp_path / "out") == ("alignment", "align", {"a.png"})


def test_a_flag_given_to_one_claim_names_that_claims_refusals(tmp_path):
    """claim_file / publish_folder(flag=...) override the policy's flag in every refusal: the claim's own, the
    lock's and the one at the rename after the work."""
    taken = tmp_path / "taken.csv"
    taken.write_text("the user's")
    out = tmp_path / "out.csv"
    with OutputPolicy("predict", flag="--output") as policy:
        assert _refusal(policy.claim_file, taken, "--csv").startswith(f"--csv {taken}: exists;")
        policy.claim_file(out, flag="--csv")
        with OutputPolicy("predict", flag="--output") as other:
            assert _refusal(other.claim_file, out, "--json").startswith(f"--json {out} is in use by")
        with pytest.raises(OutputError) as refused:
            with policy.publish(out) as tmp:
                Path(tmp).write_text("mine")
                out.write_text("theirs")
        assert str(refused.value).startswith(f"--csv {out}: was created by another program")
        folder = tmp_path / "sample"
        folder.mkdir()
        (folder / "x.csv").write_text("the user's")
        assert _refusal(lambda: policy.publish_folder(folder, "sample", flag="--out").__enter__()).startswith(
            f"--out {folder}: holds files this command did not make")


def test_remove_recorded_files_of_an_unmarked_folder_removes_nothing(tmp_path):
    (tmp_path / "a.png").write_text("the user's")
    assert outputs.remove_recorded_files(tmp_path, "alignment") == [] and (tmp_path / "a.png").exists()


def test_the_path_too_long_message_shows_the_length_it_compared(tmp_path, monkeypatch):
    """check_names compares the ABSOLUTE path's length with PATH_MAX: the message shows that length, not
    the length of the path as given (a relative one: far below the limit). Fixed 2026-12-08."""
    deep = _abspath_of_length(tmp_path, 3900)
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert "(4097 bytes as an absolute path; the limit is 4096)" in _refusal(outputs.check_names, "b" * 196)


# ---- round 10 blind mutants (issue 34)
def test_an_output_under_a_folder_without_write_permission_is_refused_before_work(tmp_path, monkeypatch):
    """r10-outputs-read-access-for-write: the check asks for write (and search) permission on the nearest
    existing folder, not read. Root may write anywhere, so the permission is denied by a stand-in os.access
    that refuses only W_OK there (read and search stay allowed)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if Path(path) == locked and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(outputs.os, "access", access)
    with pytest.raises(OutputError, match=r"cannot write in .*locked \(permission denied\)"):
        outputs.check_creatable(locked / "new" / "faces.csv", folder=False)
    outputs.check_creatable(tmp_path / "open" / "faces.csv", folder=False)  # a writable folder passes

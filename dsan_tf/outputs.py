"""The one output policy of every command (library and command line).

Rules, enforced here and nowhere else:

1. An output never replaces a file the command did not make, unless the user says
   ``--overwrite``. "Made by the command" means listed in the manifest of a folder the
   command (or an earlier run of the same kind of command) marked as its own.
2. What a command writes into a folder is known: the first file it publishes there
   writes a marker, ``.dsan-output`` (first line: JSON ``{"kind", "command"}``; then one
   JSON-quoted relative name per file published). A rerun or ``--resume`` accepts a folder
   that is new, empty, or marked with the same kind; anything else is refused before any
   work starts.
3. Device files, pipes, sockets and ``/dev/stdout`` (anything under /dev or /proc) are
   written through (opened and appended to), never renamed over or replaced.
4. A regular file is published by writing a temporary beside it and renaming it into place
   with ``renameat2(RENAME_NOREPLACE)`` (or ``link()`` where the file system lacks it):
   the "no existing target" check holds at the moment of the rename, not only at start-up.
   With ``--overwrite`` the rename replaces (``os.replace``), but never a folder or device.
5. Concurrent writers of one output are refused: each claim holds an ``flock`` on a lock
   file beside the output (``.<name>.lock``, for a file or a folder, taken before a new
   folder exists) for as long as the policy is open; it is removed on release, however the
   command ended (success, error, Ctrl-C).
6. Every name the command will create, temporaries and lock files included, is checked
   when it is claimed, before the long work: too long a name ("File name too long"), a
   symlink loop, a file where a folder is needed, no permission, an input of the command.

7. A whole output that must appear complete or not at all (a sample dataset, a shipped
   model's record and weights) is built in a temporary folder and swapped in with one
   rename (:meth:`OutputPolicy.publish_folder`). Nothing is written inside the installed
   package (:func:`check_outside_package`).

Every refusal is an :class:`OutputError` whose message is one line naming the flag the
user typed.

The structural rule: this module holds every write primitive of dsan_tf (temporaries,
atomic files and folders, the no-replace rename, markers, locks). Anywhere else a write or
delete (opening for writing, ``Path.write_*``, ``unlink``, ``shutil.rmtree/move/copy*``,
``os.replace``, ``np.save``, ``to_csv``, ``savefig``, model saving, TFRecord writers, and
this module's own :func:`atomic_path` / :func:`write_json` ...) may only target a place
the policy handed out: the name bound by ``with policy.publish(path) as tmp`` or
``with policy.publish_folder(path, kind) as tmp``, a folder returned by
:meth:`OutputPolicy.claim_folder` / :meth:`OutputPolicy.claim_and_mark`, or a path derived
from one of them. ``tests/test_write_primitives.py`` checks this on the AST of every module
(a few library functions that write where their caller points are listed there, each with
the claim that covers it). This module imports nothing of dsan_tf but :mod:`dsan_tf.errors`;
:mod:`dsan_tf.io_utils` re-exports its writers (no import circle).

Use::

    with OutputPolicy(command="predict", flag="--output", overwrite=args.overwrite,
                      inputs=args.inputs) as policy:
        out = policy.claim_file(args.output)                 # checks + lock, before the work
        folder = policy.claim_folder(args.annotate, kind="annotations", flag="--annotate")
        for name in planned:                                 # every name, before the work
            policy.claim_file(folder / name, flag="--annotate")
        ...long work...
        with policy.publish(out) as tmp:                     # write tmp; renamed at the end
            write(tmp)

``claim_*`` may be called again for a path already claimed (it returns at once).
:func:`atomic_dir` publishes a whole folder (an export's version) the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
from pathlib import Path

from dsan_tf.errors import UserError

MARKER = ".dsan-output"
FOLDER_LOCK = ".lock"  # a folder's lock in earlier versions (and where its parent is read-only): ignored
NAME_MAX = 255
PATH_MAX = 4096
# What a temporary or lock file adds to a name: ".<name>.<pid>.<8 hex><suffix>", ".<name>.lock".
_TEMP_EXTRA = 1 + 1 + 7 + 1 + 8 + 16


class OutputError(UserError, ValueError):
    """An output path that must not or cannot be written; the message names it and says why."""


# ---------------------------------------------------------------------- small helpers


def _shown(path) -> str:
    """A path as text that can always be printed (undecodable bytes as \\xNN)."""
    text = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_write_through(path) -> bool:
    """Whether ``path`` is written through rather than replaced: a device, a pipe, a socket,
    or anything under /dev or /proc (``/dev/stdout``, ``/proc/self/fd/1``)."""
    text = os.path.abspath(os.fsdecode(path))
    if text == "/dev" or text.startswith(("/dev/", "/proc/")):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_names(path, flag: str = "--output") -> Path:
    """OutputError unless ``path`` and the temporaries beside it can be named and reached.

    Refused: a name longer than the file system allows (with room for the temporary's
    extra characters), a path longer than PATH_MAX, a symlink loop on the way.
    """
    path = Path(path)
    raw = os.fsencode(path)
    absolute = len(os.fsencode(os.path.abspath(raw)))  # what the system counts, however the path was given
    if absolute >= PATH_MAX:
        raise OutputError(f"{flag} {_shown(path)}: path too long ({absolute} bytes as an absolute path; "
                          f"the limit is {PATH_MAX})")
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX:
            raise OutputError(f"{flag} {_shown(path)}: file name too long ({size} bytes in "
                              f"'{_shown(part)[:40]}...'; the limit is {NAME_MAX})")
    try:
        path.resolve()
    except RuntimeError:  # Python 3.11's "Symlink loop from ..."
        raise OutputError(f"{flag} {_shown(path)}: is or passes through a symlink loop") from None
    except OSError as err:
        raise OutputError(f"{flag} {_shown(path)}: {err.strerror}") from None
    try:
        os.stat(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise OutputError(f"{flag} {_shown(path)}: is or passes through a symlink loop") from None
        if err.errno == errno.ENAMETOOLONG:
            raise OutputError(f"{flag} {_shown(path)}: file name too long") from None
        if err.errno != errno.ENOTDIR:
            raise OutputError(f"{flag} {_shown(path)}: {err.strerror}") from None
    return path


def _existing_ancestor(path: Path) -> Path:
    existing = path
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    return existing


def check_creatable(path, *, folder: bool, flag: str = "--output", inputs=()) -> Path:
    """OutputError unless ``path`` may be created: not an input nor inside one, the right
    type if it exists, under a folder (not a file) where this user may write."""
    path = Path(path)
    check_names(path, flag)
    target = path.resolve()
    for item in inputs:
        if item is None:
            continue
        item = Path(item)
        source = item.resolve()
        if target == source:
            raise OutputError(f"{flag} {_shown(path)}: is the input {_shown(item)}; "
                              "an output must never replace an input")
        if item.is_dir() and source in target.parents:
            raise OutputError(f"{flag} {_shown(path)}: lies inside the input folder {_shown(item)}; "
                              "write outputs outside the folders a command reads")
    if folder and path.exists() and not path.is_dir():
        raise OutputError(f"{flag} {_shown(path)}: is a file; expected a folder")
    if not folder and path.is_dir():
        raise OutputError(f"{flag} {_shown(path)}: is a folder; expected a file name")
    if is_write_through(path):
        return path
    existing = _existing_ancestor(target if folder else target.parent)
    if not existing.is_dir():
        raise OutputError(f"{flag} {_shown(path)}: cannot be created: {_shown(existing)} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{flag} {_shown(path)}: cannot write in {_shown(existing)} (permission denied)")
    if len(os.fsencode(path.name)) + _TEMP_EXTRA > NAME_MAX:
        # The target itself fits, but not the temporary it is written through.
        raise OutputError(f"{flag} {_shown(path)}: file name too long to write safely "
                          f"({len(os.fsencode(path.name))} bytes; at most {NAME_MAX - _TEMP_EXTRA})")
    return path


# ---------------------------------------------------------------------- temporaries and atomic writes (the only write primitives)


def temp_path_beside(path, directory: bool = False) -> Path:
    """Create and return an empty temporary file (or folder) beside ``path``, normal mode."""
    path = Path(path)
    suffix = "" if directory else _temp_suffix(path)  # keeps e.g. ".keras": Keras insists on it
    while True:
        # Printable ASCII only (and bounded): a non-UTF-8 or 250-byte target name still gives a
        # temporary every library can open (cv2.imwrite crashes on undecodable names).
        tmp = path.with_name(f".{_safe_name(path.name)}.{os.getpid()}.{secrets.token_hex(4)}{suffix}")
        try:
            if directory:
                os.mkdir(tmp, 0o777)  # the umask applies, as for any mkdir
            else:
                os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue


def clean_stale_temps(path) -> list:
    """Delete temporaries of ``path`` left by writers that no longer run; returns them.

    Only names of this module's pattern for this exact target are considered, and only
    those whose process id is not alive, so a concurrent writer's temporary is kept.
    """
    path = Path(path)
    name = _safe_name(path.name)
    pattern = re.compile(rf"\.{re.escape(name)}\.(\d+)\.[0-9a-f]{{8}}({re.escape(_temp_suffix(path))})?")
    removed = []
    if not path.parent.is_dir():
        return removed
    for entry in path.parent.glob(f".{_glob_escape(name)}.*"):
        match = pattern.fullmatch(entry.name)
        if match and not _process_alive(int(match.group(1))):
            _remove(entry)
            removed.append(entry)
    return removed


def _temp_suffix(path: Path) -> str:
    suffix = path.suffix
    return _safe_name(suffix) if len(suffix) <= 16 else ""


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OverflowError:  # not a pid at all
        return False
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary file path beside ``path``; rename it over ``path`` only if the block succeeds.

    A device, pipe or ``/dev/stdout`` is written through (appended to), never renamed over.
    """
    path = Path(path)
    if is_write_through(path):
        with write_through(path) as tmp:
            yield tmp
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    tmp = temp_path_beside(path)
    try:
        yield str(tmp)
        os.replace(tmp, path)
    finally:
        _remove(tmp)


@contextlib.contextmanager
def atomic_dir(path, replace: bool = False):
    """Yield an empty temporary folder beside ``path``; rename it to ``path`` if the block succeeds.

    An existing ``path`` is an error (FileExistsError) unless ``replace``: then it is moved
    aside, the new folder renamed in, and the old one deleted. Without ``replace`` the check
    holds at the rename itself (no-replace rename): a ``path`` another process created
    meanwhile is kept, and FileExistsError raised.
    """
    path = Path(path)
    if os.path.lexists(path) and not replace:
        raise FileExistsError(f"{path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    tmp = temp_path_beside(path, directory=True)
    old = None
    try:
        yield tmp
        if replace and os.path.lexists(path):
            old = temp_path_beside(path, directory=True)
            os.rename(path, old / "old")  # into a temp folder: no other name is ever taken
        rename_no_replace(tmp, path)
    finally:
        _remove(tmp)
        if old is not None:
            _remove(old)


def write_json(data, path):
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, sort_keys=False, default=_jsonable)
            f.write("\n")


def write_text(path, text: str) -> None:
    """Write a text file (UTF-8) atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def write_bytes(path, data: bytes) -> None:
    """Write a binary file atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# ---------------------------------------------------------------------- no-replace rename

_RENAME_NOREPLACE = 1
_AT_FDCWD = -100
try:
    _renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
except (OSError, AttributeError):  # pragma: no cover - not glibc
    _renameat2 = None


def rename_no_replace(source, target) -> None:
    """Rename ``source`` to ``target``; FileExistsError if ``target`` exists at that moment.

    ``renameat2(RENAME_NOREPLACE)``; where the file system lacks it, ``link()`` + ``unlink()``
    for a file, and for a folder ``mkdir()`` of the target (exclusive) then a rename over
    that empty folder (which fails if anything was put into it meanwhile).
    """
    src, dst = os.fsencode(source), os.fsencode(target)
    if _renameat2 is not None:
        if _renameat2(_AT_FDCWD, src, _AT_FDCWD, dst, _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), os.fsdecode(dst))
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):
            raise OSError(code, os.strerror(code), os.fsdecode(src), None, os.fsdecode(dst))
    if os.path.isdir(src) and not os.path.islink(src):
        os.mkdir(dst)
        try:
            os.rename(src, dst)
        except OSError:
            with contextlib.suppress(OSError):
                os.rmdir(dst)
            raise
    else:
        os.link(src, dst)
        os.unlink(src)


_RENAME_EXCHANGE = 2


def exchange(first, second) -> bool:
    """Swap two existing paths in one step (``renameat2(RENAME_EXCHANGE)``); False where the
    file system or C library cannot (the caller then falls back to two renames)."""
    if _renameat2 is None:  # pragma: no cover - not glibc
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), os.fsdecode(first), None, os.fsdecode(second))


def package_folder() -> Path:
    """The folder dsan_tf is installed in (nothing is ever written inside it)."""
    return Path(__file__).resolve().parent


def check_outside_package(path, flag: str = "--output") -> Path:
    """OutputError when ``path`` is or lies inside the installed package dsan_tf."""
    package = package_folder()
    target = Path(os.path.abspath(path))
    with contextlib.suppress(OSError, RuntimeError):
        target = Path(path).resolve()
    if target == package or package in target.parents:
        raise OutputError(f"{flag} {_shown(path)}: lies inside the installed package dsan_tf ({_shown(package)}); "
                          "nothing is written there: pick a folder of your own")
    return Path(path)


# ---------------------------------------------------------------------- markers


def remove_recorded_files(folder, kind: str) -> list:
    """Remove the files an earlier run of ``kind`` recorded in ``folder``'s marker, so that none of
    them (a batch_0003.png this run does not write) passes for this run's result. Only names the
    policy recorded as the command's own are touched; never a folder, a link or a path outside
    ``folder``. The caller has claimed ``folder`` (same kind) before calling. Returns what it removed."""
    folder = Path(folder)
    marker = read_marker(folder)
    if marker is None or marker[0] != kind:
        return []
    root = folder.resolve()
    removed = []
    for name in sorted(marker[2]):
        path = folder / name
        if path.is_file() and not path.is_symlink() and root in path.resolve().parents:
            path.unlink()
            removed.append(path)
    return removed


def read_marker(folder):
    """(kind, command, set of relative names) of a folder's marker, or None when it has none.

    An unreadable marker counts as a marker of kind ``"?"``: the folder is someone's.
    """
    path = Path(folder) / MARKER
    try:
        lines = path.read_bytes().decode("utf-8", "surrogateescape").splitlines()
        head = json.loads(lines[0])
        names = {json.loads(line) for line in lines[1:] if line.strip()}
        return str(head["kind"]), str(head.get("command", "?")), names
    except FileNotFoundError:
        return None
    except (OSError, ValueError, IndexError, KeyError, TypeError):
        return "?", "?", set()


def write_marker(folder, kind: str, command: str) -> None:
    """Mark ``folder`` as holding a ``kind`` written by ``command`` (kept when it already does)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MARKER
    if path.exists():
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"kind": kind, "command": command}) + "\n")


def record_in_marker(folder, relative) -> None:
    """Append ``relative`` (a name inside ``folder``) to the folder's manifest."""
    line = json.dumps(os.fsdecode(relative))  # lone surrogates become \\udcNN: bytes-safe
    with open(Path(folder) / MARKER, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def foreign_entries(folder, ignore=()) -> list:
    """Names in ``folder`` other than the lock file, the marker and ``ignore``, sorted."""
    skip = {FOLDER_LOCK, MARKER, *ignore}
    try:
        return sorted(entry for entry in os.listdir(folder) if entry not in skip)
    except FileNotFoundError:
        return []


def describe_kind(kind: str) -> str:
    return {"run": "a training run", "evaluation": "an evaluation (--eval-only)", "export": "an export",
            "annotations": "annotated copies", "?": "an output with an unreadable marker",
            "alignment": "aligned faces (dsan align)", "tfrecords": "TFRecord shards (dsan tfrecords)",
            "analysis": "analysis figures (dsan analyze)", "explanations": "heatmap grids (dsan explain)",
            "tflite export": "a TFLite export (dsan export tflite)",
            "bench report": "a benchmark report"}.get(kind, f"a {kind}")


# ---------------------------------------------------------------------- locks


class _Lock:
    """An exclusive flock on ``path`` (created); ``remove``: unlink it on release (a file's lock)."""

    def __init__(self, path: Path, remove: bool):
        self.path, self.remove, self.handle = path, remove, None

    def acquire(self, what: str, holder_kind: str = "another command",
                advice: str = "pick another name") -> None:
        for _ in range(20):
            handle = open(self.path, "a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "?"
                handle.close()
                raise OutputError(f"{what} is in use by {holder_kind} (process {holder}); wait for it "
                                  f"to end or {advice}") from None
            except OSError:  # a file system without locks: go on unprotected
                self.handle = handle
                return
            try:  # a lock file removed by its previous holder meanwhile: lock the new one
                same = os.fstat(handle.fileno()).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                handle.truncate(0)
                handle.write(f"{os.getpid()}\n")
                handle.flush()
                self.handle = handle
                return
            handle.close()
        raise OutputError(f"{what}: could not lock {self.path}")  # pragma: no cover

    def release(self) -> None:
        if self.handle is None:
            return
        if self.remove:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        self.handle.close()
        self.handle = None



def lock_path(path) -> Path:
    """The lock file of the output ``path`` (a file or a folder): ``.<name>.lock`` beside it.

    Beside, not inside: a lock can be taken before the folder exists (two runs into the
    same new folder are refused), and it never lands among the output's own files. It is
    removed when its holder releases it (success, error or Ctrl-C); a killed holder leaves
    it, and the next holder takes it over (the kernel dropped the flock).
    """
    path = Path(path)
    return path.parent / f".{_safe_name(path.name)}.lock"


def lock_output(path, what: str, **kwargs):
    """A held :class:`_Lock` on ``path`` (see :func:`lock_path`) and the folders created for it.

    The parent folders are created when missing (the output is going there); where the
    parent cannot be written but ``path`` is an existing folder, the lock is taken inside
    it (``<path>/.lock``) instead. ``kwargs``: :meth:`_Lock.acquire`'s message parts.
    """
    path = Path(path)
    created = []
    parent = path.parent
    missing = []
    while not os.path.lexists(parent) and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder)
        except FileExistsError:
            continue
        created.append(folder)
    beside = lock_path(path)
    if not os.access(path.parent, os.W_OK | os.X_OK) and path.is_dir():
        beside = path / FOLDER_LOCK
    lock = _Lock(beside, remove=True)
    try:
        lock.acquire(what, **kwargs)
    except BaseException:
        remove_empty_folders(created)
        raise
    if beside != path / FOLDER_LOCK:
        _remove_old_folder_lock(path)
    return lock, created


def _remove_old_folder_lock(folder: Path) -> None:
    """Delete ``<folder>/.lock``, the lock earlier versions kept inside a folder, unless a process
    of such a version holds it now (then it stays, and so does that process's protection)."""
    old = Path(folder) / FOLDER_LOCK
    try:
        if not old.is_file() or old.is_symlink():
            return
        with open(old, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(old)
    except OSError:  # held (BlockingIOError), read-only, gone meanwhile: leave it
        pass


def remove_empty_folders(folders) -> None:
    """rmdir each of ``folders`` (made for an output) that is still empty, deepest first."""
    for folder in sorted(folders, key=lambda f: len(Path(f).parts), reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(folder)


# ---------------------------------------------------------------------- the policy


class _Claim:
    def __init__(self, path: Path, flag: str, replace: bool, write_through: bool, folder=None):
        self.path, self.flag, self.replace, self.write_through = path, flag, replace, write_through
        self.folder = folder  # (folder, kind) of the claimed folder it lies in, if any


class OutputPolicy:
    """The outputs of one command: claim each before the work, publish each after it.

    ``command``: the command's name (recorded in folder markers); ``flag``: the flag named
    in messages when a claim gives none; ``overwrite``: the user said --overwrite;
    ``inputs``: files and folders the command reads (never written, nor anything inside).
    Use it as a context manager (or call :meth:`close`): locks are held until then.
    """

    def __init__(self, command: str, flag: str = "--output", overwrite: bool = False, inputs=()):
        self.command, self.flag, self.overwrite = command, flag, bool(overwrite)
        self.inputs = [Path(item) for item in inputs if item is not None]
        self._claims: dict = {}
        self._folders: dict = {}  # resolved folder -> (kind, names listed in its marker)
        self._locks: list = []
        self._locked: set = set()   # resolved outputs whose lock this policy holds
        self._created: list = []    # parent folders made for a lock: removed at close when still empty

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        while self._locks:
            self._locks.pop().release()
        remove_empty_folders(self._created)
        self._created = []

    def _lock(self, path: Path, flag: str) -> None:
        """Hold the lock of ``path`` (beside it, :func:`lock_path`) until :meth:`close`."""
        key = Path(os.path.abspath(path))
        if key in self._locked:
            return
        lock, created = lock_output(path, f"{flag} {_shown(path)}")
        self._locks.append(lock)
        self._created += created
        self._locked.add(key)

    # ---------------------------------------------------------------- claims
    def claim_folder(self, path, kind: str, flag: str | None = None, *, reuse: bool = True,
                     accept=None) -> Path:
        """Check and lock an output folder for files of ``kind``; returns the path.

        Accepted: a folder that does not exist (created when the first file is published),
        an empty one, or one whose marker says ``kind``; with ``reuse=False`` only a new
        or empty one. ``accept(folder) -> bool`` may accept an unmarked folder (e.g. one
        written before markers existed). Otherwise OutputError naming what it holds;
        ``--overwrite`` accepts an unmarked folder (its files may then be replaced).
        """
        flag = flag or self.flag
        path = Path(path)
        check_creatable(path, folder=True, flag=flag, inputs=self.inputs)
        key = path.resolve()
        if key in self._folders:
            return path
        marker = read_marker(path) if path.is_dir() else None
        names = set()
        if marker is not None:
            found, command, names = marker
            if found != kind:
                raise OutputError(f"{flag} {_shown(path)}: holds {describe_kind(found)} (written by {command}), "
                                  f"not {describe_kind(kind)}; pick another {flag}")
            if not reuse:
                raise OutputError(f"{flag} {_shown(path)}: already holds {describe_kind(kind)}; "
                                  f"pick a new or empty {flag}")
        elif path.is_dir():
            others = foreign_entries(path)
            if others and accept is not None and accept(path):
                # a folder this kind of command wrote before markers existed: its files are its own
                names = {os.fsdecode(name) for name in others}
            elif others and not self.overwrite:
                shown = ", ".join(_shown(name) for name in others[:4]) + (", ..." if len(others) > 4 else "")
                raise OutputError(f"{flag} {_shown(path)}: holds files this command did not make ({shown}); "
                                  f"pick a new or empty {flag}, or pass --overwrite to let it replace them")
        # Locked whether or not it exists yet: a second command claiming the same new folder is
        # refused now, not when both write into it.
        self._lock(path, flag)
        self._folders[key] = (kind, names, path, flag)
        return path

    def claim_file(self, path, flag: str | None = None) -> Path:
        """Check and lock an output file; returns the path. Refused: an input, a folder, an
        existing file (unless --overwrite or listed in its claimed folder's manifest), a
        name that cannot be created. Devices and pipes are accepted and written through."""
        flag = flag or self.flag
        path = Path(path)
        key = Path(os.path.abspath(path))
        if key in self._claims:
            return path
        check_creatable(path, folder=False, flag=flag, inputs=self.inputs)
        if is_write_through(path):
            self._claims[key] = _Claim(path, flag, replace=False, write_through=True)
            return path
        folder = self._folder_of(path)
        listed = folder is not None and os.fsdecode(path.resolve().relative_to(folder[2].resolve())) in folder[1]
        if os.path.lexists(path) and not (self.overwrite or listed):
            what = "is a symlink to a missing file" if not path.exists() else "exists"
            raise OutputError(f"{flag} {_shown(path)}: {what}; pass --overwrite to replace it, "
                              "or pick another name")
        # A file in a folder this policy holds locked needs no lock of its own (the folder's
        # covers it): a thousand annotated copies must not hold a thousand open lock files.
        if folder is None or Path(os.path.abspath(folder[2])) not in self._locked:
            self._lock(path, flag)
        self._claims[key] = _Claim(path, flag, replace=self.overwrite or listed, write_through=False, folder=folder)
        return path

    def _folder_of(self, path: Path):
        resolved = path.resolve()
        for key, (kind, names, folder, flag) in self._folders.items():
            if key in resolved.parents:
                return kind, names, folder, flag
        return None

    # ---------------------------------------------------------------- publishing
    @contextlib.contextmanager
    def publish(self, path):
        """Yield a temporary file name; when the block succeeds, move it to ``path``.

        No-replace rename unless the claim allows replacing; written through for devices
        and pipes. A path not claimed yet is claimed first.
        """
        path = Path(path)
        self.claim_file(path)
        claim = self._claims[Path(os.path.abspath(path))]
        if claim.write_through:
            with write_through(path) as tmp:
                yield tmp
            return
        folder = claim.folder
        if folder is not None:
            self._mark(folder[2], folder[0], folder[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(path)
        tmp = temp_path_beside(path)
        try:
            yield str(tmp)
            target = Path(os.path.realpath(path)) if path.is_symlink() and path.exists() else path
            if claim.replace:
                if target.is_dir() or (os.path.lexists(target) and is_write_through(target)):
                    raise OutputError(f"{claim.flag} {_shown(path)}: became a folder or device while the "
                                      "command ran; nothing was replaced")
                os.replace(tmp, target)
            else:
                try:
                    rename_no_replace(tmp, target)
                except FileExistsError:
                    raise OutputError(f"{claim.flag} {_shown(path)}: was created by another program while "
                                      "this command ran; it was kept, and this result not written") from None
            if folder is not None:
                relative = os.fsdecode(path.resolve().relative_to(folder[2].resolve()))
                if relative not in folder[1]:
                    record_in_marker(folder[2], relative)
                    folder[1].add(relative)
        finally:
            _remove(tmp)

    @contextlib.contextmanager
    def publish_folder(self, path, kind: str, flag: str | None = None, *, accept=None):
        """Yield an empty temporary folder beside ``path``; when the block succeeds, it becomes
        ``path`` in one rename: a whole output (a sample dataset, a shipped model pair) appears
        complete or not at all, and a failed run leaves the previous one as it was.

        Accepted before the work: a new or empty ``path``, one marked with ``kind`` (an earlier
        run's, replaced), one ``accept(path)`` accepts, anything else only with ``--overwrite``;
        never a folder holding one of the command's inputs. The same check runs again at the swap (a
        folder another program filled meanwhile is kept). The old folder is swapped out in the
        same step (``RENAME_EXCHANGE``), then deleted.
        """
        flag = flag or self.flag
        path = Path(path)
        check_creatable(path, folder=True, flag=flag, inputs=self.inputs)
        if path.is_symlink():  # the swap would replace the link, not the folder it points to
            raise OutputError(f"{flag} {_shown(path)}: is a symbolic link; give the folder itself "
                              f"({_shown(os.path.realpath(path))})")
        target = path.resolve()
        for item in self.inputs:
            source = item.resolve()
            if target == source or target in source.parents:
                raise OutputError(f"{flag} {_shown(path)}: holds the input {_shown(item)}; replacing it would "
                                  "delete the input: pick another " + flag)
        def others():
            """The files of ``path`` this command may not replace (none: new, empty, ours or --overwrite)."""
            if not path.is_dir() or not foreign_entries(path):
                return []
            marker = read_marker(path)
            ours = (marker is not None and marker[0] == kind) or (accept is not None and accept(path))
            return [] if ours or self.overwrite else foreign_entries(path)

        found = others()
        if found:
            shown = ", ".join(_shown(name) for name in found[:4]) + (", ..." if len(found) > 4 else "")
            raise OutputError(f"{flag} {_shown(path)}: holds files this command did not make ({shown}); "
                              f"pick a new or empty {flag}, or pass --overwrite to replace the whole folder")
        self._lock(path, flag)
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(path)
        tmp = temp_path_beside(path, directory=True)
        try:
            write_marker(tmp, kind, self.command)
            yield tmp
            if os.path.lexists(path):
                if not path.is_dir() or path.is_symlink():
                    raise OutputError(f"{flag} {_shown(path)}: is no longer a folder; nothing was replaced")
                if others():  # filled by another program during the work: the claim's check, again
                    raise OutputError(f"{flag} {_shown(path)}: was filled by another program while this "
                                      "command ran; it was kept, and this result not written")
                if not exchange(tmp, path):  # pragma: no cover - a file system without RENAME_EXCHANGE
                    old = temp_path_beside(path, directory=True)
                    os.rename(path, old / "old")  # two steps: a kill between them leaves no folder, never a mix
                    os.rename(tmp, path)
                    tmp = old
                # tmp now holds the old folder: deleted below
            else:
                try:
                    rename_no_replace(tmp, path)
                except FileExistsError:
                    raise OutputError(f"{flag} {_shown(path)}: was created by another program while this "
                                      "command ran; it was kept, and this result not written") from None
        finally:
            _remove(Path(tmp))

    def claim_and_mark(self, folder, kind: str, flag: str | None = None, **kwargs) -> Path:
        """:meth:`claim_folder`, then create it and write its marker at once (a run's folder)."""
        path = self.claim_folder(folder, kind, flag, **kwargs)
        self._mark(path, kind, self._folders[path.resolve()][1])
        return path

    def _mark(self, folder: Path, kind: str, names) -> None:
        """Write the folder's marker if it has none, listing the files adopted with it (those of a
        folder written before markers existed, which ``accept`` recognised)."""
        if os.path.lexists(Path(folder) / MARKER):
            return
        write_marker(folder, kind, self.command)
        for name in sorted(names):
            record_in_marker(folder, name)


def _safe_name(name: str) -> str:
    """``name`` with every character that is not printable ASCII as '_', at most 100 long:
    temporaries and lock files get names every library can pass to the C runtime."""
    text = os.fsdecode(name) if isinstance(name, bytes) else name
    return "".join(c if " " <= c <= "~" else "_" for c in text)[:100]


@contextlib.contextmanager
def write_through(path):
    """Yield a temporary file (in the system's temporary folder, with ``path``'s suffix); when
    the block succeeds, append its bytes to ``path`` (a device, pipe or /dev/stdout), which
    is never renamed over, truncated or replaced."""
    suffix = Path(path).suffix if len(Path(path).suffix) <= 16 else ""
    handle, tmp = tempfile.mkstemp(prefix="dsan-", suffix=_safe_name(suffix))
    os.close(handle)
    try:
        yield tmp
        with open(tmp, "rb") as source:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            with os.fdopen(fd, "wb") as sink:
                shutil.copyfileobj(source, sink)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)

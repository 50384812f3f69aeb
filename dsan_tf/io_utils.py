"""Safe file output: nothing a user made is overwritten, left half-written or unreadable.

- :func:`atomic_path` / :func:`atomic_dir`: write to a temporary beside the target, rename
  it into place only when complete. Temporaries are named ``.<target name>.<pid>.<token>``
  (plus the target's suffix for files), so a write killed half-way leaves a file that the
  next write of the same target recognises and deletes (only when that process is gone).
  They get the normal file mode (0666 / 0777 minus the umask, as a plain ``open()`` or
  ``mkdir`` gives), so another user, e.g. a TF Serving container, can read the result.
- :func:`check_output_path`: refuse, before any work starts, an output that would land on
  or inside one of the command's inputs, or that cannot be created; one-line
  :class:`OutputError`.

The policy every command follows (no replacing what the command did not make, folder
markers, write-through devices, no-replace publishing, locks, name checks) is
:mod:`dsan_tf.outputs`; these helpers are its building blocks and keep their behaviour:
:func:`atomic_path` replaces its target (callers own it) but writes devices, pipes and
``/dev/stdout`` through instead of renaming over them; :func:`atomic_dir` never replaces
a folder unless ``replace``, at the moment of the rename.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
from pathlib import Path


from dsan_tf.outputs import (  # noqa: F401  (re-exported: one policy, one module)
    OutputError, OutputPolicy, _safe_name, check_creatable, check_names, is_write_through,
    rename_no_replace, write_through)


# ---------------------------------------------------------------------- temporaries


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


def read_json_object(path, hint: str) -> dict:
    """A JSON object from ``path``, or a UserError naming the file, what is wrong and ``hint`` (what to do).
    Kept for callers of the old name: :func:`dsan_tf.state_files.read_json_state` is the checked reader."""
    from dsan_tf.state_files import read_json_state

    return read_json_state(path, dict, hint=hint)


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


# ---------------------------------------------------------------------- checks before work


def check_output_path(path, *, inputs=(), folder: bool = False, flag: str = "--output") -> Path:
    """``path`` if it may be written; OutputError naming it otherwise.

    Refused: the path is one of ``inputs`` (files or folders the command reads) or lies
    inside an input folder; a file expected but a folder found, or the reverse; a path
    that cannot be created (a file where a folder is needed, a name too long for it or
    its temporary, a symlink loop) or written (permissions). Devices and pipes are
    accepted (written through). Nothing is created. (:func:`dsan_tf.outputs.check_creatable`.)
    """
    return check_creatable(path, folder=folder, flag=flag, inputs=inputs)


def os_error_line(err: OSError) -> str:
    """One line for an OSError met while writing: the file and the system's reason."""
    name = err.filename if err.filename is not None else ""
    reason = err.strerror or str(err)
    return f"{name}: {reason}" if name else reason

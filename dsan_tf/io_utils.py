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
"""

import contextlib
import json
import os
import re
import secrets
import shutil
from pathlib import Path


class OutputError(ValueError):
    """An output path that must not or cannot be written; the message names it and says why."""


# ---------------------------------------------------------------------- temporaries


def temp_path_beside(path, directory: bool = False) -> Path:
    """Create and return an empty temporary file (or folder) beside ``path``, normal mode."""
    path = Path(path)
    suffix = "" if directory else path.suffix  # keeps e.g. ".keras": Keras insists on it
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}")
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
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\.[0-9a-f]{{8}}({re.escape(path.suffix)})?")
    removed = []
    if not path.parent.is_dir():
        return removed
    for entry in path.parent.glob(f".{_glob_escape(path.name)}.*"):
        match = pattern.fullmatch(entry.name)
        if match and not _process_alive(int(match.group(1))):
            _remove(entry)
            removed.append(entry)
    return removed


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
    """Yield a temporary file path beside ``path``; rename it over ``path`` only if the block succeeds."""
    path = Path(path)
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
    aside, the new folder renamed in, and the old one deleted.
    """
    path = Path(path)
    if path.exists() and not replace:
        raise FileExistsError(f"{path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    tmp = temp_path_beside(path, directory=True)
    old = None
    try:
        yield tmp
        if path.exists():
            old = temp_path_beside(path, directory=True)
            os.rename(path, old / path.name)  # into a temp folder: no other name is ever taken
        os.rename(tmp, path)
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


# ---------------------------------------------------------------------- checks before work


def check_output_path(path, *, inputs=(), folder: bool = False, flag: str = "--output") -> Path:
    """``path`` if it may be written; OutputError naming it otherwise.

    Refused: the path is one of ``inputs`` (files or folders the command reads) or lies
    inside an input folder; a file expected but a folder found, or the reverse; a path
    that cannot be created (a file where a folder is needed) or written (permissions).
    Nothing is created.
    """
    path = Path(path)
    target = path.resolve()
    for item in inputs:
        if item is None:
            continue
        item = Path(item)
        source = item.resolve()
        if target == source:
            raise OutputError(f"{flag} {path}: is the input {item}; an output must never replace an input")
        if item.is_dir() and source in target.parents:
            raise OutputError(f"{flag} {path}: lies inside the input folder {item}; "
                              "write outputs outside the folders a command reads")
    if folder and path.exists() and not path.is_dir():
        raise OutputError(f"{flag} {path}: is a file; expected a folder")
    if not folder and path.is_dir():
        raise OutputError(f"{flag} {path}: is a folder; expected a file name")
    existing = target if folder else target.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{flag} {path}: cannot be created: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{flag} {path}: cannot write in {existing} (permission denied)")
    return path


def os_error_line(err: OSError) -> str:
    """One line for an OSError met while writing: the file and the system's reason."""
    name = err.filename if err.filename is not None else ""
    reason = err.strerror or str(err)
    return f"{name}: {reason}" if name else reason

"""Reading helpers and the re-exported writing blocks of :mod:`dsan_tf.outputs`.

Every write primitive (atomic files and folders, temporaries, the no-replace rename)
lives in :mod:`dsan_tf.outputs`, the one output policy; this module re-exports them for
older imports and holds what reads or checks: :func:`read_json_object`,
:func:`check_output_path`, :func:`os_error_line`. It imports :mod:`dsan_tf.outputs`;
:mod:`dsan_tf.outputs` never imports it (no import circle).
"""

import json
from pathlib import Path

from dsan_tf.outputs import (  # noqa: F401  (re-exported: one policy, one module)
    OutputError, OutputPolicy, _jsonable, _remove, _safe_name, atomic_dir, atomic_path, check_creatable,
    check_names, clean_stale_temps, is_write_through, rename_no_replace, temp_path_beside, write_bytes,
    write_json, write_text, write_through)


def read_json_object(path, hint: str) -> dict:
    """A JSON object from ``path``, or a UserError naming the file, what is wrong and ``hint`` (what to do).
    Kept for callers of the old name: :func:`dsan_tf.state_files.read_json_state` is the checked reader."""
    from dsan_tf.state_files import read_json_state

    return read_json_state(path, dict, hint=hint)



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

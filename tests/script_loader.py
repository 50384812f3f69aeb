"""The module behind a command-line script of experiments/ or export/, so tests can call its main(argv).

The scripts there are thin wrappers of ``dsan <command>``; their code lives in dsan_tf/cli/.
``load_script(name, folder)`` returns that package module (its ``main(argv)`` runs the command
inside the error boundary and returns the exit status). tests/test_cli.py runs the wrappers
themselves.
"""

import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (folder, script name) -> module of dsan_tf.cli
MODULES = {
    ("experiments", "align_faces"): "align_faces",
    ("experiments", "make_tfrecords"): "make_tfrecords",
    ("experiments", "ship_model"): "ship_model",
}


def load_script(name, folder="experiments"):
    if not (ROOT / folder / f"{name}.py").is_file():
        raise FileNotFoundError(f"{folder}/{name}.py: no such script")
    return importlib.import_module(f"dsan_tf.cli.{MODULES.get((folder, name), name)}")


def command(name):
    """``dsan <name>`` as a function of argv returning the exit status (argparse's refusals too)."""
    from dsan_tf.cli import run_command

    def main(argv):
        try:
            return run_command(name, [str(a) for a in argv])
        except SystemExit as exit_:
            return exit_.code
    return main


def refuse_walking_into(monkeypatch, name):
    """Make folders called ``name`` unreadable to the image listing (dsan_tf.data.images' os.walk reports a
    PermissionError for them): as root, chmod 000 does not stop reading."""
    import os

    real_walk = os.walk

    def walk(top, onerror=None, **kwargs):
        for folder, dirs, files in real_walk(top, onerror=onerror, **kwargs):
            if Path(folder).name == name:
                onerror(PermissionError(13, "Permission denied", folder))
                dirs[:] = []
                continue
            yield folder, dirs, files

    monkeypatch.setattr("dsan_tf.data.images.os.walk", walk)


def refused(main, argv, match):
    """Run ``main(argv)`` expecting a refusal: a non-zero exit status and exactly one line
    ``dsan <command>: error: ...`` on stderr matching the regex ``match``, no traceback.
    Returns that line from ``error:`` on."""
    import contextlib
    import io
    import re

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as stop:  # refused by a flag's validator: argparse exits with status 2
            status = stop.code
    text = err.getvalue()
    lines = [line for line in text.splitlines() if "error:" in line]
    assert status not in (0, None), text
    assert len(lines) == 1 and "Traceback" not in text, text
    line = lines[0][lines[0].index("error:"):]
    assert re.search(match, line), (match, line)
    return line

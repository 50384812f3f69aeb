"""The ``dsan`` command: one entry point, a registry of subcommands, one error boundary.

    dsan [--debug] [--verbose] <command> [<args>]      (also: python -m dsan_tf ...)

A subcommand is one entry of :data:`COMMANDS`: its name, the module that implements it
and a one-line help. The module is imported only when its command runs (``dsan --help``
imports none of them), and it imports TensorFlow only inside ``run`` (``dsan <command>
--help`` and argument errors never load TensorFlow). A command module defines

- ``build_parser(prog)``: its :class:`CommandParser` (an ``argparse.ArgumentParser`` whose
  errors are one line), every flag with ``help=`` stating its default and every numeric
  or path flag with a validator of :mod:`dsan_tf.cli.validators` (``tests/test_flags.py``);
- optionally ``check_args(parser, args)``: checks that need several arguments
  (``parser.error`` for a bad combination), or ``parse(parser, argv)`` in place of both;
- ``run(args)``: the work; returns the exit status (None = 0);
- optionally ``interrupted_line(args, interrupt)``: the one line printed after Ctrl-C;
- ``main(argv=None)``: ``run_command(<name>, argv)``, what the scripts in experiments/
  and export/ call.

Every command runs inside :func:`boundary`: a :class:`dsan_tf.errors.UserError` (bad
data, an unusable output, a model that does not load, ...) is one line
``dsan <command>: error: <message>`` and exit status 2 (or the command's documented
one); an OSError is one line naming the file and the reason; a missing optional
dependency names the extra to install; Ctrl-C is one line and exit status 130; any
other exception is one line ``internal error (...)`` and exit status 1. ``--debug``
(or ``DSAN_DEBUG=1``) lets the exception through with its traceback instead.

Unless ``--verbose`` (or ``DSAN_VERBOSE=1``), TensorFlow's start-up and log lines are
silenced (:mod:`dsan_tf.quiet`).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Command:
    module: str          # the module implementing it (imported only when the command runs)
    help: str            # one line, for ``dsan --help``
    extra: str | None = None   # the pip extra of dsan_tf it needs (None: the base install)
    error_status: int = 2      # exit status of a UserError (export savedmodel documents 1)


# name -> command. A new command is one entry here plus its module. "export X" is "dsan export X".
COMMANDS = {
    "train": Command("dsan_tf.cli.run", "train and evaluate a DSAN (or evaluate one with --eval-only)", "train"),
    "predict": Command("dsan_tf.cli.predict", "facial expressions of every face in photos and videos"),
    "explain": Command("dsan_tf.cli.explain", "Grad-CAM family heatmaps of a model on face images", "explain"),
    "analyze": Command("dsan_tf.cli.analyze", "the paper's analysis figures: t-SNE, P(a=0), LFA weights",
                       "analysis"),
    "align": Command("dsan_tf.cli.align_faces", "detect and align the faces of a folder of photos (resumable)"),
    "export savedmodel": Command("dsan_tf.cli.export_savedmodel",
                                 "export a model as a TF Serving SavedModel version", error_status=1),
    "export tflite": Command("dsan_tf.cli.export_tflite",
                             "convert a model to TFLite (float32, dynamic range) and check its agreement", "tflite"),
    "client": Command("dsan_tf.cli.client", "classify face images with a model served by TF Serving"),
    "bench": Command("dsan_tf.cli.bench", "training/inference throughput: DSAN vs its baseline (or PyTorch)"),
    "bench-serving": Command("dsan_tf.cli.bench_serving", "latency of the exported SavedModel against Keras"),
    "bench-realtime": Command("dsan_tf.cli.bench_realtime",
                              "frames/s and faces/s of live recognition (MTCNN + DSAN) on a synthetic video"),
    "bench-pipeline": Command("dsan_tf.cli.bench_pipeline", "input pipeline throughput against the training step"),
    "profile": Command("dsan_tf.cli.profile", "parameters, MACs and FLOPs beside the paper's Table 1"),
    "ablate": Command("dsan_tf.cli.ablate", "the paper's ablation grids (Tables 5-7), beside the paper", "train"),
    "compare": Command("dsan_tf.cli.compare", "trained runs side by side: scores table and curves figure", "train"),
    "table4": Command("dsan_tf.cli.table4", "Table 4 (occlusion and pose accuracy) of evaluated runs"),
    "data-summary": Command("dsan_tf.cli.data_summary", "images per split and class of a dataset"),
    "tfrecords": Command("dsan_tf.cli.make_tfrecords", "write dataset splits as sharded TFRecords (resumable)"),
    "ship": Command("dsan_tf.cli.ship_model", "pack a trained run as a shipped model (float16 weights + record) "
                    "into a folder", "train"),
    "calibrate": Command("dsan_tf.cli.calibrate",
                         "choose and apply the post-hoc class-prior correction of a trained model", "train"),
    "teacher-labels": Command("dsan_tf.cli.teacher_labels",
                              "teachers' probabilities of the training faces, for distillation (dsan train "
                              "--teacher-labels)", "train"),
    "simulate-centres": Command("dsan_tf.cli.simulate_centres",
                                "replay centre-update rules on a trained model's features"),
    "make-sample": Command("dsan_tf.cli.make_sample", "make a small FERPlus sample (like the embedded one) from "
                           "the full data"),
}

# The extras of dsan_tf (pyproject.toml) and the top-level modules they provide.
EXTRAS = {
    "train": {"sklearn", "matplotlib", "tensorboard"},
    "analysis": {"sklearn", "matplotlib"},
    "explain": {"tf_keras_vis", "matplotlib"},
    "tflite": {"ai_edge_litert"},
    "dev": {"torch", "pytest"},
}

DEBUG_ENV, VERBOSE_ENV = "DSAN_DEBUG", "DSAN_VERBOSE"


def _env_flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


# ------------------------------------------------------------------ the error boundary
def _say(prog, message):
    print(f"{prog}: {message}", file=sys.stderr, flush=True)


def _one_line(text):
    """The message on one line (a multi-line message's lines joined)."""
    return " ".join(line.strip() for line in str(text).strip().splitlines() if line.strip())


def _first_line(text, limit=300):
    lines = str(text).strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[:limit] + "..."


def missing_dependency_line(name, err):
    """The one line for a ModuleNotFoundError: the extra of dsan_tf that provides it, if any."""
    module = (err.name or "").split(".")[0]
    command = COMMANDS.get(name)
    extra = None
    if command is not None and command.extra and module in EXTRAS.get(command.extra, ()):
        extra = command.extra
    else:
        extra = next((e for e, modules in EXTRAS.items() if module in modules), None)
    if extra is not None:
        return (f"error: `dsan {name}` needs the optional dependencies of dsan_tf[{extra}] ({module} is not "
                f"installed): pip install 'dsan_tf[{extra}]'")
    return f"error: {module or err}: module not installed (a dependency of dsan_tf; reinstall: pip install dsan_tf)"


def boundary(name, work, *, debug=False, interrupted=None, error_status=2):
    """Run ``work()`` and return the exit status; every failure becomes one line on stderr.

    ``interrupted(exc)`` gives the line printed after Ctrl-C (default "interrupted").
    With ``debug`` every exception propagates with its traceback.
    """
    from dsan_tf.errors import UserError

    prog = f"dsan {name}"
    try:
        status = work()
        return 0 if status is None else int(status)
    except KeyboardInterrupt as exc:
        if debug:
            raise
        line = None
        if interrupted is not None:
            try:
                line = interrupted(exc)
            except Exception:  # noqa: BLE001 - the line is a courtesy; never a traceback after Ctrl-C
                line = None
        _say(prog, line or (f"interrupted: {exc}" if str(exc) else "interrupted"))
        return 130
    except UserError as exc:
        if debug:
            raise
        _say(prog, f"error: {_one_line(exc) or type(exc).__name__}")
        return exc.status if exc.status is not None else error_status
    except ModuleNotFoundError as exc:
        if debug or (exc.name or "").split(".")[0] == "dsan_tf":
            if debug:
                raise
            _say(prog, f"error: internal error ({type(exc).__name__}: {_first_line(exc)}); rerun with --debug "
                       "for the traceback")
            return 1
        _say(prog, missing_dependency_line(name, exc))
        return error_status
    except OSError as exc:
        if debug:
            raise
        from dsan_tf.io_utils import os_error_line

        _say(prog, f"error: {os_error_line(exc)}")
        return error_status
    except SystemExit as exc:  # sys.exit("error: ...") deep in a command: the same one line
        if debug or not isinstance(exc.code, str):
            raise
        message = exc.code[len("error: "):] if exc.code.startswith("error: ") else exc.code
        _say(prog, f"error: {_one_line(message)}")
        return error_status
    except Exception as exc:  # noqa: BLE001 - the boundary: one line, the traceback only on request
        if debug:
            raise
        if "No space left on device" in str(exc):  # TensorFlow's writers raise ResourceExhaustedError, not OSError
            _say(prog, f"error: the disk is full ({_first_line(exc)}); free space and rerun")
            return error_status
        _say(prog, f"error: internal error ({type(exc).__name__}: {_first_line(exc)}); rerun with --debug "
                   "for the traceback")
        return 1


# ------------------------------------------------------------------ argument errors
def help_hint(prog):
    return f"({prog} --help explains every flag)"


class CommandParser(argparse.ArgumentParser):
    """The parser of every command: an argument error is the line ``dsan CMD: error: ...`` first
    (argparse prints a usage block before it), then a one-line hint; exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n{help_hint(self.prog)}\n")


# ------------------------------------------------------------------ running one command
def _as_text(argv):
    return [os.fspath(a) if isinstance(a, os.PathLike) else a for a in argv]


def build_parser(name):
    """The command's parser (``prog`` "dsan <name>"), with --debug; imports the command's module only."""
    module = importlib.import_module(COMMANDS[name].module)
    parser = module.build_parser(f"dsan {name}")
    if "--debug" not in parser._option_string_actions:
        parser.add_argument("--debug", action="store_true",
                            help=f"show the traceback of an error instead of one line (also {DEBUG_ENV}=1)")
    return module, parser


def parse_command_args(name, argv):
    """(module, args) of ``dsan <name> argv`` (argparse's SystemExit on --help or a bad argument)."""
    module, parser = build_parser(name)
    if hasattr(module, "parse"):
        args = module.parse(parser, argv)
    else:
        args = parser.parse_args(argv)
        if hasattr(module, "check_args"):
            module.check_args(parser, args)
    return module, args


def missing_extra(name):
    """The first module of the command's extra that is not installed (None: all are, or it needs none).

    find_spec locates a module without importing it, so the check costs nothing and runs before any work.
    """
    extra = COMMANDS[name].extra
    for module in sorted(EXTRAS.get(extra, ()) if extra else ()):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a module in sys.modules without a spec, a broken parent
            found = module in sys.modules
        if not found:
            return module
    return None


def _check_extra_then(name, run):
    def work():
        module = missing_extra(name)
        if module is not None:  # the boundary turns this into the line naming the extra to install
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
        return run()
    return work


def run_command(name, argv=None, *, invocation=None, debug=False, verbose=None):
    """Run the command ``name`` on ``argv`` inside the error boundary; returns the exit status.

    ``invocation``: how the user called it (e.g. ``["python", "experiments/run.py"]``), for
    lines that repeat a command; default ``["dsan", *name.split()]``.
    """
    if name not in COMMANDS:
        raise KeyError(f"no command {name!r}")
    argv = _as_text(sys.argv[1:] if argv is None else list(argv))
    verbose = _env_flag(VERBOSE_ENV) if verbose is None else verbose
    if not verbose:
        from dsan_tf import quiet

        quiet.install()
    module, args = parse_command_args(name, argv)
    debug = debug or getattr(args, "debug", False) or _env_flag(DEBUG_ENV)
    args.invocation = list(invocation or ["dsan", *name.split()])
    args.argv = [a for a in argv if a != "--debug"]
    hook = getattr(module, "interrupted_line", None)
    return boundary(name, _check_extra_then(name, lambda: module.run(args)), debug=debug, error_status=COMMANDS[name].error_status,
                    interrupted=(lambda exc: hook(args, exc)) if hook else None)


# ------------------------------------------------------------------ dsan itself
def _groups():
    """Top-level names: "train", ..., "export" (for "export savedmodel" and "export tflite")."""
    groups = {}
    for name in COMMANDS:
        groups.setdefault(name.split()[0], []).append(name)
    return groups


def _usage(group=None):
    if group:
        return f"usage: dsan {group} {{{','.join(n.split()[1] for n in _groups()[group])}}} [<args>]"
    return "usage: dsan [-h] [--version] [--debug] [--verbose] <command> [<args>]"


def help_text(group=None):
    """``dsan --help`` (or ``dsan export --help``): the commands and their one-line help, no imports."""
    names = _groups()[group] if group else list(COMMANDS)
    width = max(len(n) for n in names) + 2
    lines = [_usage(group), ""]
    if group is None:
        lines += ["DSAN (Dual Stream Attention Network) facial expression recognition: training, inference,",
                  "analysis, export and serving tools.", ""]
    lines.append("commands:")
    lines += [f"  {name:<{width}}{COMMANDS[name].help}" for name in names]
    if group is None:
        lines += ["", "options:",
                  "  -h, --help   show this help and exit",
                  "  --version    show the version of dsan_tf and exit",
                  f"  --debug      show the traceback of an error instead of one line (also {DEBUG_ENV}=1)",
                  f"  --verbose    show TensorFlow's start-up and log messages (also {VERBOSE_ENV}=1)",
                  "", "Run `dsan <command> --help` for a command's options."]
    else:
        lines += ["", f"Run `dsan {group} <command> --help` for a command's options."]
    return "\n".join(lines) + "\n"


def _fail(message, group=None):
    """An error of ``dsan`` itself (or of a group such as ``dsan export``): the error line first."""
    prog = f"dsan {group}" if group else "dsan"
    print(f"{prog}: error: {message}", file=sys.stderr)
    print(f"({prog} --help lists the commands)", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    """The ``dsan`` console script: global options, then the command and its arguments."""
    argv = _as_text(sys.argv[1:] if argv is None else list(argv))
    debug = verbose = False
    while argv and argv[0].startswith("-"):
        option = argv.pop(0)
        if option in ("-h", "--help"):
            sys.stdout.write(help_text())
            return 0
        if option == "--version":
            from dsan_tf import __version__

            print(f"dsan_tf {__version__}")
            return 0
        if option == "--debug":
            debug = True
        elif option == "--verbose":
            verbose = True
        else:
            return _fail(f"unknown option {option!r} (the options of a command go after its name; see dsan --help)")
    if not argv:
        sys.stderr.write(help_text())
        return 2
    first = argv.pop(0)
    groups = _groups()
    if first not in groups:
        close = difflib.get_close_matches(first, list(groups), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; see dsan --help"
        return _fail(f"unknown command {first!r}{hint}")
    name = first
    if groups[first] != [first]:  # a group such as "export": the next word picks the command
        choices = ", ".join(n.split()[1] for n in groups[first])
        if not argv:
            return _fail(f"a command is needed: {choices}", first)
        if argv[0] in ("-h", "--help"):
            sys.stdout.write(help_text(first))
            return 0
        second = argv.pop(0)
        name = f"{first} {second}"
        if name not in COMMANDS:
            return _fail(f"unknown command {name!r}; choose from {choices}", first)
    return run_command(name, argv, debug=debug, verbose=verbose or None)


def script_main(name, script, argv=None) -> int:
    """``main`` of a compatibility script (experiments/*.py, export/*.py): ``dsan <name>`` by another path."""
    try:
        shown = os.path.relpath(script)
    except ValueError:  # another drive (Windows)
        shown = str(script)
    if shown.startswith(".." + os.sep + ".."):
        shown = str(Path(script))
    return run_command(name, argv, invocation=["python", shown])

"""The `dsan` command (issue 23): one entry point with subcommands, one error boundary, quiet start-up.

Quick by design: the registry, the boundary and the bad-input checks run in this process;
subprocesses only where the process itself is the subject (what `--help` imports, what a
real TensorFlow command prints on stderr, the wheel's entry points).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
import venv

import pytest
from script_loader import ROOT

import dsan_tf.cli as cli
from dsan_tf.cli import COMMANDS, EXTRAS

SAMPLE_FACE = ROOT / "dsan_tf" / "sample_data" / "ferplus" / "FER2013Valid" / "fer0028687.png"
# What TensorFlow, absl and the CUDA stubs print on a CPU machine when nobody silences them.
NOISE = re.compile(r"absl|InitializeLog|cuda|cuInit|cpu_feature_guard|oneDNN|AVX|I0000|W0000|E0000|"
                   r"shuffle=True|cache_dataset_ops|tensorflow/|WARNING", re.I)


def _python(code, *, env=None, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


# ------------------------------------------------------------------ registry and --help


def test_every_script_is_a_wrapper_of_a_registered_command():
    scripts = sorted(p for folder in ("experiments", "export") for p in (ROOT / folder).glob("*.py")
                     if p.name != "__init__.py")
    named = set()
    for script in scripts:
        text = script.read_text()
        found = re.search(r'script_main\("([^"]+)", __file__, argv\)', text)
        assert found, f"{script}: not a wrapper of a dsan command"
        assert found.group(1) in COMMANDS, script
        assert "sys.path.insert" not in text and "sys.path.append" not in text, f"{script} edits sys.path"
        named.add(found.group(1))
    assert len(scripts) == 19
    assert named <= set(COMMANDS)  # commands newer than the scripts (calibrate, bench-realtime) have none
    for name, command in COMMANDS.items():
        assert (ROOT / (command.module.replace(".", "/") + ".py")).is_file(), name


def test_help_and_argument_errors_never_import_tensorflow():
    """`dsan --help`, `dsan <command> --help` for every command and argument errors: no TensorFlow."""
    result = _python("""
        import contextlib, io, json, sys
        from dsan_tf.cli import COMMANDS, main

        def call(argv):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    status = main(argv)
                except SystemExit as stop:
                    status = stop.code
            return status, out.getvalue(), err.getvalue()

        report = {"top": call(["--help"]), "export": call(["export", "--help"]),
                  "unknown": call(["trian"]), "no-option": call(["--nope"])}
        for name in COMMANDS:
            report[name] = call([*name.split(), "--help"])
        report["bad-argument"] = call(["predict", "--frame-stride", "0", "x.jpg"])
        report["missing-argument"] = call(["train"])
        heavy = [m for m in ("tensorflow", "keras", "sklearn", "matplotlib", "torch", "mtcnn", "cv2")
                 if m in sys.modules]
        print(json.dumps({"report": report, "heavy": heavy}))
    """)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["heavy"] == [], data["heavy"]
    report = data["report"]
    status, out, _ = report["top"]
    assert status == 0
    for name, command in COMMANDS.items():
        assert re.search(rf"^  {re.escape(name)} +{re.escape(command.help)}$", out, re.M), name
        status, text, _ = report[name]
        assert status == 0 and text.startswith(f"usage: dsan {name}"), (name, text[:200])
    assert report["export"][0] == 0 and "export savedmodel" in report["export"][1]
    status, _, err = report["unknown"]
    assert status == 2 and "dsan: error: unknown command 'trian'; did you mean 'train'?" in err
    assert report["no-option"][0] == 2
    for key, words in (("bad-argument", "argument --frame-stride: expected an integer in [1, "),
                       ("missing-argument", "--dataset")):
        status, _, err = report[key]
        assert status == 2 and words in err and "Traceback" not in err, err
        assert err.count("error:") == 1


def test_help_does_not_import_the_command_modules():
    result = _python("""
        import sys
        from dsan_tf.cli import main
        main(["--help"])
        print(sorted(m for m in sys.modules if m.startswith("dsan_tf.cli.")))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_wrappers_run_as_scripts_from_anywhere(tmp_path):
    """Every old script path still runs (no sys.path edits): --help of each, from another folder."""
    scripts = [p for folder in ("experiments", "export") for p in sorted((ROOT / folder).glob("*.py"))
               if p.name != "__init__.py"]
    code = "import runpy, sys\nfor path in sys.argv[1:]:\n" \
           "    sys.argv = [path, '--help']\n" \
           "    try:\n        runpy.run_path(path, run_name='__main__')\n" \
           "    except SystemExit as stop:\n        assert stop.code == 0, (path, stop.code)\n" \
           "print('tensorflow' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", code, *map(str, scripts)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("usage: dsan ") == len(scripts)
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_explain_help_choices_match_the_library():
    from dsan_tf import explain, resnet
    from dsan_tf.cli import explain as explain_cli

    assert explain_cli.METHODS == explain.METHODS and explain_cli.STREAMS == explain.STREAMS
    assert explain_cli.PREDICTED == explain.PREDICTED and explain_cli.LAST_CONV_LAYER == resnet.LAST_CONV_LAYER


def test_extras_are_declared_and_installed_by_requirements_dev():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["dsan"] == "dsan_tf.cli:main"
    extras = project["optional-dependencies"]
    for extra in EXTRAS:
        assert extra in extras, extra
    for command in COMMANDS.values():
        assert command.extra is None or command.extra in extras
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    dev_names = {re.split(r"[<>=\[ ]", line)[0].lower() for line in dev if line and not line.startswith(("#", "-"))}
    for extra, packages in extras.items():
        for package in packages:
            name = re.split(r"[<>=\[ ]", package)[0].lower()
            if name == "dsan_tf" or extra == "gpu":
                continue
            assert name in dev_names, f"requirements-dev.txt misses {package} of dsan_tf[{extra}]"


# ------------------------------------------------------------------ the error boundary


def _missing_path_argv(tmp_path, missing):
    """Per command: arguments whose input path does not exist (profile has none: a bad value)."""
    out = str(tmp_path / "out")
    m = str(missing)
    return {
        "train": ["--dataset", "ferplus", "--data-dir", m, "--output", out, "--verbose", "0"],
        "predict": [m, "--no-progress"],
        "explain": ["--images", m, "--method", "gradcam", "--output", out, "--no-progress"],
        "analyze": ["--weights", m, "--output", out],
        "align": ["--input", m, "--output", out, "--no-progress"],
        "export savedmodel": ["--weights", m, "--output", out, "--version", "1"],
        "export tflite": ["--weights", m, "--output", out, "--limit", "1"],
        "client": ["--rest", "http://127.0.0.1:9", m],
        "bench": ["--against-torch", "--torch-reference", m, "--image-size", "32"],
        "bench-serving": ["--weights", m],
        "bench-pipeline": ["--data-dir", m, "--skip-step"],
        "bench-realtime": ["--photo", m],
        "profile": ["--num-splits", "3"],
        "ablate": ["--grid", "variant", "--dataset", "ferplus", "--data-dir", m, "--output", out, "--seeds", "0"],
        "table4": [m],
        "compare": [m],
        "data-summary": ["--dataset", "rafdb", "--data-dir", m],
        "tfrecords": ["--dataset", "ferplus", "--data-dir", m, "--output", out],
        "ship": ["--run", m, "--data-dir", m, "--output", out],
        "calibrate": ["--weights", m, "--data-dir", m],
        "simulate-centres": ["--weights", m, "--data-dir", m],
        "teacher-labels": ["--weights", m, "--data-dir", m, "--output", str(tmp_path / "t.npz")],
        "make-sample": ["--source", m, "--out", out],
    }


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_missing_input_is_one_error_line_naming_it(name, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    missing = tmp_path / "no-such-input"
    argv = _missing_path_argv(tmp_path, missing)[name]
    try:
        status = cli.main([*name.split(), *argv])
    except SystemExit as stop:  # refused by the flag's validator (dsan_tf.cli.validators), as argparse exits
        status = stop.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert status not in (0, None, 130), err
    assert len(lines) == 1 and "Traceback" not in err and "internal error" not in err, err
    assert lines[0].startswith(f"dsan {name}: error: "), lines
    assert (str(missing) in lines[0]) if name != "profile" else ("must divide" in lines[0]), lines[0]


def _fake(monkeypatch, exc):
    from dsan_tf.cli import table4

    def run(args):
        raise exc

    monkeypatch.setattr(table4, "run", run)
    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    return table4


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    table4 = _fake(monkeypatch, KeyboardInterrupt())
    assert table4.main(["."]) == 130
    assert capsys.readouterr().err == "dsan table4: interrupted\n"


def test_an_unexpected_exception_is_one_line_or_a_traceback_with_debug(monkeypatch, capsys):
    _fake(monkeypatch, RuntimeError("boom\nsecond line"))
    assert cli.main(["table4", "."]) == 1
    assert capsys.readouterr().err == ("dsan table4: error: internal error (RuntimeError: boom); "
                                       "rerun with --debug for the traceback\n")
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["--debug", "table4", "."])
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["table4", ".", "--debug"])
    monkeypatch.setenv("DSAN_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["table4", "."])


def test_a_full_disk_in_a_tensorflow_writer_is_one_line_not_an_internal_error(monkeypatch, capsys):
    import tensorflow as tf

    _fake(monkeypatch, tf.errors.ResourceExhaustedError(None, None, "out/shard-0.tfrecord; No space left on device"))
    assert cli.main(["table4", "."]) == 2
    assert capsys.readouterr().err == ("dsan table4: error: the disk is full (out/shard-0.tfrecord; No space left "
                                       "on device); free space and rerun\n")


def test_user_errors_and_os_errors_are_one_line(monkeypatch, capsys):
    from dsan_tf.data.errors import DataError
    from dsan_tf.errors import UserError
    from dsan_tf.inference import ModelLoadError
    from dsan_tf.io_utils import OutputError

    for error_type in (DataError, ModelLoadError, OutputError):
        assert issubclass(error_type, UserError) and issubclass(error_type, ValueError)
    _fake(monkeypatch, DataError("a.csv: line 3: expected 10 votes\n  (got 9)"))
    assert cli.main(["table4", "."]) == 2
    assert capsys.readouterr().err == "dsan table4: error: a.csv: line 3: expected 10 votes (got 9)\n"
    _fake(monkeypatch, PermissionError(13, "Permission denied", "/srv/out.csv"))
    assert cli.main(["table4", "."]) == 2
    assert capsys.readouterr().err == "dsan table4: error: /srv/out.csv: Permission denied\n"


def test_a_missing_optional_dependency_names_its_extra(monkeypatch, capsys):
    from dsan_tf.cli import analyze

    def run(args):
        raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")

    monkeypatch.setattr(analyze, "run", run)
    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    assert cli.main(["analyze", "--weights", "ferplus", "--output", "o"]) == 2
    assert capsys.readouterr().err == (
        "dsan analyze: error: `dsan analyze` needs the optional dependencies of dsan_tf[analysis] (sklearn is "
        "not installed): pip install 'dsan_tf[analysis]'\n")


def test_the_compact_epoch_line():
    from dsan_tf.progress import epoch_line, fit_verbosity

    line = epoch_line(2, 8, {"loss": 1.23456, "accuracy": 0.4567, "val_accuracy": 0.5012, "gfe_accuracy": 0.3},
                      123.4)
    assert line == "epoch 3/8: loss 1.2346, accuracy 45.67%, val accuracy 50.12%, 123 s"
    assert fit_verbosity(1)[0] == 0 and len(fit_verbosity(1)[1]) == 1
    assert fit_verbosity(2) == (2, []) and fit_verbosity(0) == (0, [])




# ---- lines its own tests never ran (issue 34): dsan_tf/cli/__init__.py


def test_the_boundary_lets_every_error_through_with_debug():
    """--debug: Ctrl-C, a UserError, a missing dependency and an OSError each propagate (no one line)."""
    from dsan_tf.errors import UserError

    for error in (KeyboardInterrupt("x"), UserError("bad"), ModuleNotFoundError("m", name="sklearn"),
                  ModuleNotFoundError("m", name="dsan_tf.gone"), OSError(5, "I/O error")):
        def work(error=error):
            raise error

        with pytest.raises(type(error)):
            cli.boundary("table4", work, debug=True)


def test_ctrl_c_prints_the_commands_own_line_or_the_interrupts_words(capsys):
    """boundary(interrupted=...): the hook's line when it gives one; its failure or None falls back to
    'interrupted' (with the interrupt's own words when it has any); always exit status 130."""
    def stop(message=""):
        def work():
            raise KeyboardInterrupt(message) if message else KeyboardInterrupt()
        return work

    def broken(exc):
        raise RuntimeError("hook failed")

    assert cli.boundary("align", stop(), interrupted=lambda exc: "stopped; rerun to resume") == 130
    assert cli.boundary("align", stop(), interrupted=broken) == 130
    assert cli.boundary("align", stop("at image 7"), interrupted=lambda exc: None) == 130
    assert capsys.readouterr().err == ("dsan align: stopped; rerun to resume\ndsan align: interrupted\n"
                                       "dsan align: interrupted: at image 7\n")


def test_a_user_errors_own_status_and_an_empty_message(capsys):
    """UserError.status beats the command's status; a message-less error is named by its type."""
    from dsan_tf.errors import UserError

    class Refused(UserError):
        status = 3

    def raises(error):
        def work():
            raise error
        return work

    assert cli.boundary("ship", raises(Refused("run is not evaluated")), error_status=1) == 3
    assert cli.boundary("ship", raises(UserError("")), error_status=1) == 1
    assert capsys.readouterr().err == "dsan ship: error: run is not evaluated\ndsan ship: error: UserError\n"


def test_a_missing_module_of_dsan_tf_itself_is_an_internal_error_not_an_extra(capsys):
    def work():
        raise ModuleNotFoundError("No module named 'dsan_tf.gone'", name="dsan_tf.gone")

    assert cli.boundary("predict", work) == 1
    assert capsys.readouterr().err == ("dsan predict: error: internal error (ModuleNotFoundError: No module named "
                                       "'dsan_tf.gone'); rerun with --debug for the traceback\n")


def test_a_missing_module_no_extra_provides_says_reinstall():
    assert cli.missing_dependency_line("predict", ModuleNotFoundError("x", name="cv2.dnn")) == (
        "error: cv2: module not installed (a dependency of dsan_tf; reinstall: pip install dsan_tf)")
    # a module of another command's extra than the running one: that extra is named
    assert "dsan_tf[tflite]" in cli.missing_dependency_line("train", ModuleNotFoundError("x", name="ai_edge_litert"))


def test_a_missing_extra_is_found_before_the_command_runs(monkeypatch, capsys, tmp_path):
    """missing_extra: the first (sorted) module of the command's extra that find_spec cannot locate; a
    find_spec that raises counts the module as present when it is in sys.modules. _check_extra_then turns
    it into the line naming the extra, and run() never starts."""
    import importlib.util
    import types

    from dsan_tf.cli import compare

    real = importlib.util.find_spec

    def find_spec(name, *args):
        if name == "matplotlib":
            raise ValueError("matplotlib.__spec__ is None")
        return None if name == "sklearn" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setitem(sys.modules, "matplotlib", types.ModuleType("matplotlib"))
    assert cli.missing_extra("compare") == "sklearn" and cli.missing_extra("predict") is None
    ran = []
    monkeypatch.setattr(compare, "run", lambda args: ran.append(args))
    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    assert cli.main(["compare", str(tmp_path)]) == 2 and ran == []
    assert capsys.readouterr().err == (
        "dsan compare: error: `dsan compare` needs the optional dependencies of dsan_tf[train] (sklearn is not "
        "installed): pip install 'dsan_tf[train]'\n")
    monkeypatch.delitem(sys.modules, "matplotlib")
    assert cli.missing_extra("compare") == "matplotlib"


def test_run_command_refuses_an_unknown_name_and_passes_invocation_and_argv(monkeypatch, capsys):
    """run_command: KeyError for a name not in COMMANDS; args.invocation defaults to 'dsan <name words>';
    args.argv is the arguments without --debug; the module's interrupted_line gets args."""
    from dsan_tf.cli import table4

    with pytest.raises(KeyError, match="no command 'tabel4'"):
        cli.run_command("tabel4", ["."])
    seen = []
    monkeypatch.setattr(table4, "run", lambda args: seen.append((args.invocation, args.argv)))
    assert cli.run_command("table4", [".", "--debug"], verbose=True) == 0
    assert seen == [(["dsan", "table4"], ["."])]

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(table4, "run", interrupted)
    monkeypatch.setattr(table4, "interrupted_line", lambda args, exc: f"stopped reading {args.argv[0]}",
                        raising=False)
    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    assert cli.run_command("table4", ["."], verbose=True) == 130
    assert capsys.readouterr().err == "dsan table4: stopped reading .\n"


def test_a_command_with_its_own_debug_flag_and_parse_hook(monkeypatch):
    """build_parser adds --debug only when the command has none; a module's parse(parser, argv) replaces
    parse_args + check_args."""
    import types

    module = types.ModuleType("fake_command")

    def build_parser(prog):
        parser = cli.CommandParser(prog=prog)
        parser.add_argument("--debug", action="store_true", help="its own")
        parser.add_argument("value")
        return parser

    module.build_parser = build_parser
    module.parse = lambda parser, argv: parser.parse_args([a.upper() for a in argv])
    monkeypatch.setitem(sys.modules, "fake_command", module)
    monkeypatch.setitem(cli.COMMANDS, "fake", cli.Command("fake_command", "a stand-in"))
    _, parser = cli.build_parser("fake")
    assert parser.prog == "dsan fake" and parser._option_string_actions["--debug"].help == "its own"
    assert cli.parse_command_args("fake", ["abc"])[1].value == "ABC"


def test_a_script_names_itself_relative_to_the_working_folder_unless_far(monkeypatch, tmp_path):
    """script_main: the invocation repeated in lines is 'python <script relative to the cwd>', or the
    script's own path when the relative one climbs two folders or more."""
    from dsan_tf.cli import table4

    seen = []
    monkeypatch.setattr(table4, "run", lambda args: seen.append(args.invocation))
    script = ROOT / "experiments" / "table4.py"
    monkeypatch.chdir(ROOT)
    assert cli.script_main("table4", script, ["."]) == 0
    monkeypatch.chdir(ROOT / "experiments")
    assert cli.script_main("table4", script, ["."]) == 0
    far = tmp_path / "a" / "b"
    far.mkdir(parents=True)
    monkeypatch.chdir(far)
    assert cli.script_main("table4", script, [str(ROOT)]) == 0
    assert seen == [["python", os.path.join("experiments", "table4.py")], ["python", "table4.py"],
                    ["python", str(script)]]



def test_dsans_own_options_and_words(monkeypatch, capsys):
    """main(): --version prints 'dsan_tf <version>'; an unknown option and an unknown command with no close
    match name what to do; --verbose (or a true DSAN_VERBOSE) skips the quiet start-up, a false one does not;
    an internal error's message is cut at 300 characters."""
    from dsan_tf import __version__, quiet
    from dsan_tf.cli import table4

    assert cli.main(["--version"]) == 0 and capsys.readouterr().out == f"dsan_tf {__version__}\n"
    assert cli.main(["--nope", "table4"]) == 2
    assert capsys.readouterr().err == ("dsan: error: unknown option '--nope' (the options of a command go after "
                                       "its name; see dsan --help)\n(dsan --help lists the commands)\n")
    assert cli.main(["zzzzzz"]) == 2
    assert capsys.readouterr().err.startswith("dsan: error: unknown command 'zzzzzz'; see dsan --help\n")
    installs = []
    monkeypatch.setattr(quiet, "install", lambda: installs.append(True))
    monkeypatch.setattr(table4, "run", lambda args: None)
    for value, quietened in (("", 1), ("0", 1), ("false", 1), ("No", 1), ("1", 0), ("yes", 0), (" TRUE ", 0)):
        monkeypatch.setenv("DSAN_VERBOSE", value)
        installs.clear()
        assert cli.main(["table4", "."]) == 0 and len(installs) == quietened, value
    monkeypatch.delenv("DSAN_VERBOSE")
    installs.clear()
    assert cli.main(["--verbose", "table4", "."]) == 0 and installs == []
    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    for size, shown in ((300, "x" * 300), (301, "x" * 300 + "...")):
        monkeypatch.setattr(table4, "run", lambda args, size=size: (_ for _ in ()).throw(RuntimeError("x" * size)))
        assert cli.main(["table4", "."]) == 1
        assert capsys.readouterr().err == (f"dsan table4: error: internal error (RuntimeError: {shown}); rerun "
                                           "with --debug for the traceback\n")


# ---- lines its own tests never ran (issue 34): dsan_tf/progress.py


def test_the_epoch_callback_draws_a_bar_over_the_steps_then_prints_the_line(monkeypatch, capsys):
    """EpochLine with a bar: one tqdm bar of params["steps"] on stderr, one step per batch, closed at the
    epoch's end; the line goes to its own stream with the run's epoch count (run_epochs beats the one-epoch
    fit's params["epochs"]) and the epoch's wall time (clock stood in: 100.0 -> 223.4 s is 123 s)."""
    import io

    from dsan_tf import progress

    clock = iter([100.0, 223.4])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    stream = io.StringIO()
    callback = progress.EpochLine(stream=stream, progress_bar=True)
    callback.set_params({"steps": 3, "epochs": 1})
    callback.run_epochs = 5
    callback.on_epoch_begin(1)
    bar = callback._bar
    assert bar is not None and bar.total == 3
    for batch in range(3):
        callback.on_train_batch_end(batch)
    assert bar.n == 3 and bar.disable is False
    callback.on_epoch_end(1, {"loss": 0.5, "accuracy": 0.25})
    assert callback._bar is None and bar.disable is True  # tqdm's close() disables the bar
    assert stream.getvalue() == "epoch 2/5: loss 0.5000, accuracy 25.00%, 123 s\n"
    assert "epoch 2" in capsys.readouterr().err  # the bar's description, on stderr


def test_the_epoch_callback_has_no_bar_off_a_terminal_and_falls_back_to_the_fits_epochs(monkeypatch, capsys):
    """progress_bar=None: a bar only when stderr is a terminal (under pytest it is not); progress_bar=False:
    never. Without run_epochs the fit's params["epochs"] is the count; without either, no '/N'."""
    from dsan_tf import progress

    clock = iter([10.0, 12.6, 20.0, 20.4])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    auto = progress.EpochLine()
    auto.set_params({"steps": 4, "epochs": 8})
    auto.on_epoch_begin(0)
    assert auto._bar is None
    auto.on_train_batch_end(0)  # no bar: nothing to update, no error
    auto.on_epoch_end(0, {"val_accuracy": 0.5})
    never = progress.EpochLine(progress_bar=False)
    never.on_epoch_begin(6)
    assert never._bar is None
    never.on_epoch_end(6, None)
    assert capsys.readouterr() == ("epoch 1/8: val accuracy 50.00%, 3 s\nepoch 7: 0 s\n", "")


def test_only_a_stream_that_says_so_is_a_terminal():
    """_is_terminal: isatty() when the stream has it; a stream without it, or a closed file, is not one."""
    import io

    from dsan_tf.progress import _is_terminal

    class Tty:
        def isatty(self):
            return True

    closed = io.StringIO()
    closed.close()
    assert _is_terminal(Tty()) is True and _is_terminal(io.StringIO()) is False
    assert _is_terminal(object()) is False and _is_terminal(closed) is False


def test_verbose_one_is_keras_silent_plus_the_compact_line():
    from dsan_tf.progress import EpochLine, fit_verbosity

    keras_verbose, callbacks = fit_verbosity(1)
    assert keras_verbose == 0 and len(callbacks) == 1 and isinstance(callbacks[0], EpochLine)
    assert callbacks[0].stream is None and callbacks[0].progress_bar is None


# ------------------------------------------------------------------ quiet start-up (one real TF command)


def test_predict_is_quiet_and_needs_no_extra(tmp_path):
    """`dsan predict` on a photo: stdout has the row, stderr only predict's own lines; with the
    extras' modules (scikit-learn, matplotlib, tf-keras-vis) blocked, as after `pip install dsan_tf`."""
    blocker = tmp_path / "site" / "sitecustomize.py"
    blocker.parent.mkdir()
    blocker.write_text(
        "import sys, importlib.abc\n"
        "class B(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('sklearn', 'matplotlib', 'tf_keras_vis', 'torch'):\n"
        "            raise ModuleNotFoundError('blocked: ' + name, name=name)\n"
        "sys.meta_path.insert(0, B())\n")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "DSAN_VERBOSE", "DSAN_DEBUG")}
    env["PYTHONPATH"] = str(blocker.parent)
    result = subprocess.run([sys.executable, "-m", "dsan_tf", "predict", str(SAMPLE_FACE), "--no-progress"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and rows[0]["source"] == str(SAMPLE_FACE)
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("dsan predict: ") or re.match(r"\d+ images and", line) for line in lines), lines
    assert not [line for line in lines if NOISE.search(line)], lines


# ------------------------------------------------------------------ the built wheel


def test_the_wheel_installs_the_dsan_command(tmp_path):
    """Build the wheel, install it (no dependencies: they are this interpreter's) into a venv, and run
    `dsan --help` and `python -m dsan_tf --help` from a folder outside the checkout."""
    wheels = tmp_path / "wheels"
    # Built from a copy: `pip wheel` leaves dsan_tf.egg-info (and build/) in the folder it builds, and an
    # egg-info in the checkout makes the checkout, when on PYTHONPATH, look like an installed dsan_tf to pip.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", ".pytest_cache", "runs", "build", "dist", "*.egg-info", "tests"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next(wheels.glob("dsan_tf-*.whl"))
    env_dir = tmp_path / "venv"
    try:
        venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    except Exception as err:  # noqa: BLE001 - e.g. no venv support in a stripped Python
        pytest.skip(f"cannot create a virtual environment here: {err}")
    python, dsan = env_dir / "bin" / "python", env_dir / "bin" / "dsan"
    # This interpreter's pip installs into the venv (faster than bootstrapping pip there).
    # --ignore-installed and no PYTHONPATH: a checkout on PYTHONPATH (or the editable install) must not count as
    # "dsan_tf already installed" for the venv.
    no_path = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                                "--ignore-installed", "--no-warn-script-location", str(wheel)],
                               capture_output=True, text=True, timeout=300, env=no_path)
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for command in ([str(dsan), "--help"], [str(python), "-m", "dsan_tf", "--help"]):
        result = subprocess.run(command, capture_output=True, text=True, cwd=elsewhere, timeout=120, env=no_path)
        assert result.returncode == 0, result.stderr
        for name in COMMANDS:
            assert f"  {name} " in result.stdout, (command, name)
    where = subprocess.run([str(python), "-c", "import dsan_tf.cli.predict as m; print(m.__file__)"],
                           capture_output=True, text=True, cwd=elsewhere, timeout=60, env=no_path)
    assert str(env_dir) in where.stdout, where.stdout + where.stderr  # the wheel's copy, not the checkout


@pytest.mark.parametrize("argv, message", [
    (["predict", ".", "--min-confidence", "2"], "argument --min-confidence: expected a finite number in [0, 1], got '2'"),
    (["client", "--rest", "http://localhost:8501", ".", "--align-size", "4"],
     "argument --align-size: expected an integer in [8, 1024], got '4'"),
    (["explain", "--images", ".", "--method", "gradcam", "--output", "o", "--min-face-size", "0"],
     "argument --min-face-size: expected an integer in [1, 65535], got '0'"),
    (["align", "--input", ".", "--output", "o", "--min-confidence", "-1"],
     "argument --min-confidence: expected a finite number in [0, 1], got '-1'"),
])
def test_every_detector_command_refuses_impossible_detector_flags(argv, message, capsys):
    """predict, client, explain and align declare the face-detector flags with the same validators."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


# round 2 blind mutants (issue 34)
def test_a_commands_own_status_and_sys_exit_with_a_number_pass_through(monkeypatch, capsys):
    """r2-cli-command-status-dropped, r2-cli-sys-exit-number-crashes: run() returning 3 exits 3; sys.exit(4)
    deep in a command is the status 4 (not an internal error); sys.exit("error: x") is one line."""
    from dsan_tf.cli import table4

    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    monkeypatch.setattr(table4, "run", lambda args: 3)
    assert cli.main(["table4", "."]) == 3
    monkeypatch.setattr(table4, "run", lambda args: sys.exit(4))
    with pytest.raises(SystemExit) as exited:
        cli.main(["table4", "."])
    assert exited.value.code == 4 and capsys.readouterr().err == ""
    monkeypatch.setattr(table4, "run", lambda args: sys.exit("error: runs/a: no config.json"))
    assert cli.main(["table4", "."]) == 2
    assert capsys.readouterr().err == "dsan table4: error: runs/a: no config.json\n"


def test_a_missing_submodule_names_the_extra_of_its_package():
    """r2-cli-missing-submodule-extra-not-named: 'No module named sklearn.manifold' is scikit-learn missing."""
    line = cli.missing_dependency_line("analyze", ModuleNotFoundError("x", name="sklearn.manifold"))
    assert line == ("error: `dsan analyze` needs the optional dependencies of dsan_tf[analysis] (sklearn is not "
                    "installed): pip install 'dsan_tf[analysis]'")
    line = cli.missing_dependency_line("predict", ModuleNotFoundError("x", name="tf_keras_vis.gradcam"))
    assert "dsan_tf[explain]" in line


# ---- round 6 blind mutants (issue 34)


def test_the_bar_follows_whether_stderr_not_stdout_is_a_terminal(monkeypatch):
    """r6-progress-bar-when-stdout-is-a-terminal: the bar is drawn on stderr, so progress_bar=None shows it when
    STDERR is a terminal: `dsan train > log` on a terminal shows one, `dsan train 2> log` on a terminal none
    (both streams stood in)."""
    import io
    import sys

    from dsan_tf import progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stdout, stderr, shown in ((io.StringIO(), Terminal(), True), (Terminal(), io.StringIO(), False)):
        monkeypatch.setattr(sys, "stdout", stdout)
        monkeypatch.setattr(sys, "stderr", stderr)
        callback = progress.EpochLine(stream=io.StringIO())
        callback.set_params({"steps": 2, "epochs": 1})
        callback.on_epoch_begin(0)
        assert (callback._bar is not None) is shown, (stdout, stderr)
        callback.on_epoch_end(0, {})

"""Every flag of every registered command is declared well, by construction (issues 31 and 35).

The tests walk ``dsan_tf.cli.COMMANDS``, so a new command or flag is covered by being registered.
The rules, checked by :func:`declaration_problems` and :func:`probe_problems`:

1. Help: every flag and positional has ``help=`` text.
2. Default: the help of every flag that has a default states it: it contains the word "default",
   and a number, word or path default appears in it as it is (``(default 64)``, ``default: all
   cores``). Exempt, since there is no default to state: switches (``store_true``/``store_false``:
   off unless given), required options (and those of a required either-or group), and positionals that must be given (``nargs`` None or "+").
   A ``--x/--no-x`` pair (BooleanOptionalAction) is not exempt: on, off or "the preset's" is a
   default a user needs to know.
3. Validator: every flag that takes a value has a validator of ``dsan_tf.cli.validators`` as its
   ``type=``, unless its values are a fixed list of words (``choices=`` of strings). A ``type=int``,
   ``type=float``, ``type=Path`` or no type at all fails. The validators that accept free text
   (``text``, ``one_of``) are refused on a flag whose default is a number or a path, or whose name
   says it holds one (:data:`NUMBER_OR_PATH_WORDS`; the few name-like flags whose names collide are
   listed in :data:`TEXT_FLAGS`, each with its reason), so wrapping a number in ``text`` fails too.
   Numeric ranges end below 1e30: what no code can handle is refused by the flag, not found later.
4. Probes: every validated flag is parsed (parse only; nothing runs) with 0, -1, nan, inf, 1e30,
   10**30 and a value just past its maximum. Each either is refused in one line (exit status 2;
   the first stderr line is ``dsan CMD: error: argument FLAG: ...``; at most a one-line hint
   follows) or is accepted by the flag's validator and, for a number, lies inside the validator's
   documented range, and holds no NaN, infinity or number past 1e30. An accepted value may still end the parse on another argument (a required
   one missing): that error must be one line too.

A synthetic parser inside this file proves that each rule fails when a flag loses its validator,
its help or its default's mention, or when a parser prints argparse's usage block before the error.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import math
import re
from pathlib import Path

import pytest

from dsan_tf import cli
from dsan_tf.cli import COMMANDS, CommandParser
from dsan_tf.cli import validators as v

ROOT = Path(__file__).resolve().parents[1]
PROBES = ("0", "-1", "nan", "inf", "1e30", "1" + "0" * 30)

# Parts of a flag's name that say it holds a number or a path: such a flag may not take free text.
NUMBER_OR_PATH_WORDS = {
    "size", "sizes", "steps", "epochs", "epoch", "seed", "seeds", "rate", "threads", "frames", "frame", "repeats",
    "warmup", "rounds", "limit", "count", "columns", "stride", "batch", "num", "max", "min", "top", "quality",
    "shards", "alpha", "lambda1", "lambda2", "weight", "decay", "momentum", "timeout", "version", "camera",
    "confidence", "perplexity", "tau", "taus", "apply", "agreement", "every", "minutes", "seconds", "per",
    "dropped", "erasing", "rotation", "reduction", "layers", "splits", "classes",
    "dir", "path", "file", "output", "out", "weights", "csv", "json", "report", "source", "save", "features",
    "settings", "photo", "images", "inputs", "runs", "reference", "run", "model", "savedmodel", "annotate",
    "input", "from", "labels",
}
# (command, dest) of the flags that take free text although a word of their name is in the list above.
TEXT_FLAGS = {
    ("client", "model"): "the model's name on the server",
    ("compare", "labels"): "the names shown for the runs",
    ("export savedmodel", "model_name"): "the model's name in TF Serving",
    ("export savedmodel", "serving_base_path"): "a path on the serving machine, not on this one",
}
FREE_TEXT_KINDS = {"text", "choices"}


# ------------------------------------------------------------------ the rules, as functions
def _actions(parser):
    return [a for a in parser._actions if not isinstance(a, (argparse._HelpAction, argparse._VersionAction))]


def _name(action):
    """How argparse names the action in its errors."""
    if action.option_strings:
        return "/".join(action.option_strings)
    return action.metavar if action.metavar not in (None, argparse.SUPPRESS) else action.dest


def _is_switch(action):
    return action.nargs == 0 and not isinstance(action, argparse.BooleanOptionalAction)


def _takes_value(action):
    return action.nargs != 0


def _needs_default_mention(parser, action):
    if _is_switch(action) or action.required:
        return False
    if any(group.required and action in group._group_actions for group in parser._mutually_exclusive_groups):
        return False  # one of the group is required (client's --rest or --grpc)
    if not action.option_strings and action.nargs in (None, "+"):
        return False
    return True


def _renderings(value):
    """The texts that state ``value`` in a help line."""
    if isinstance(value, Path):
        return {str(value), value.name}
    if isinstance(value, float):
        mantissa, exponent = f"{value:e}".split("e")
        scientific = f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"  # 1e-4
        return {f"{value:g}", str(value), scientific, f"{value:.0f}" if value == int(value) else f"{value:g}"}
    return {str(value)}


def declaration_problems(command, parser):
    """Rules 1-3 for one parser: a list of problems (empty: all flags declared well)."""
    problems = []
    for action in _actions(parser):
        name = f"dsan {command} {_name(action)}"
        help_text = action.help or ""
        if not help_text.strip():
            problems.append(f"{name}: no help")
            continue
        if _needs_default_mention(parser, action):
            if "default" not in help_text.lower():
                problems.append(f"{name}: the help does not state the default")
            default = action.default
            values = default if isinstance(default, (list, tuple)) else [default]
            for value in values:
                if value is None or isinstance(value, bool):
                    continue
                if not any(text in help_text for text in _renderings(value)):
                    problems.append(f"{name}: the help does not state the default {value!r}")
        if not _takes_value(action):
            continue
        words_only = action.choices is not None and all(isinstance(c, str) for c in action.choices)
        if not v.is_validated(action):
            if not words_only:
                problems.append(f"{name}: takes a value without a validator of dsan_tf.cli.validators "
                                f"(type={getattr(action.type, '__name__', action.type)!r})")
            continue
        kind = action.type.kind
        if kind in FREE_TEXT_KINDS and (command, action.dest) not in TEXT_FLAGS:
            default = action.default
            words = set(action.dest.split("_"))
            if isinstance(default, (int, float, Path)) and not isinstance(default, bool):
                problems.append(f"{name}: free text for a flag whose default is {default!r}")
            elif words & NUMBER_OR_PATH_WORDS:
                problems.append(f"{name}: free text for a flag whose name says it holds a number or a path "
                                f"({', '.join(sorted(words & NUMBER_OR_PATH_WORDS))})")
        bounds = v.numeric_bounds(action.type)
        if bounds is not None and not all(math.isfinite(b) and abs(b) < 1e30 for b in bounds):
            problems.append(f"{name}: its range {bounds} does not end below 1e30")
    return problems


def _past_maximum(validator):
    bounds = v.numeric_bounds(validator)
    if bounds is None:
        return []
    top = bounds[1]
    item = getattr(validator, "item", validator)
    return [str(top + 1) if isinstance(item, v._Int) else repr(top * 1.5 if top > 0 else top + 1)]


def _inside(validator, text):
    """Whether ``text`` is a value the validator documents as acceptable (for numbers: finite, in range)."""
    try:
        value = validator(text)
    except argparse.ArgumentTypeError:
        return False
    if not _sane(value):
        return False
    bounds = v.numeric_bounds(validator)
    if bounds is None:
        return True
    try:
        number = float(text)
    except ValueError:
        return False
    return math.isfinite(number) and bounds[0] <= number <= bounds[1]


def _sane(value):
    """No NaN, infinity or number past 1e30 anywhere in a parsed value (custom validators included)."""
    if isinstance(value, (tuple, list)):
        return all(_sane(item) for item in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return math.isfinite(value) and abs(value) < 1e30
    return True


def probe_problems(command, parser, parse):
    """Rule 4: ``parse(argv)`` -> (exit status or None, stderr) for every probe of every validated flag."""
    problems = []
    prog = f"dsan {command}"
    for action in _actions(parser):
        if not (_takes_value(action) and v.is_validated(action)):
            continue
        name = _name(action)
        for value in (*PROBES, *_past_maximum(action.type)):
            argv = [action.option_strings[-1], value] if action.option_strings else [value]
            status, err = parse(argv)
            lines = err.splitlines()
            where = f"{prog} {' '.join(argv)}"
            if status is not None and status != 0:
                if status != 2 or not lines or not lines[0].startswith(f"{prog}: error: "):
                    problems.append(f"{where}: not a one-line error (status {status}): {err[:200]!r}")
                    continue
                if len(lines) > 2 or "Traceback" in err or "usage:" in lines[0]:
                    problems.append(f"{where}: more than the error line and a hint: {err[:300]!r}")
                    continue
                if lines[0].startswith(f"{prog}: error: argument {name}: "):
                    continue  # refused by the flag itself
            if not _inside(action.type, value):
                problems.append(f"{where}: neither refused by the flag nor inside its range "
                                f"({action.type.expected}): status {status}, {err[:200]!r}")
    return problems


def parse_command(command):
    """``parse(argv)`` for a registered command: dsan's own parsing (check_args included), never ``run``."""
    def parse(argv):
        err = io.StringIO()
        status = None
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                cli.parse_command_args(command, list(argv))
            except SystemExit as stop:
                status = stop.code if isinstance(stop.code, int) else 2
        return status, err.getvalue()
    return parse


# ------------------------------------------------------------------ the registry
@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working folder where none of the probes ("0", "nan", ...) names an existing file."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_flag_has_help_stating_its_default_and_a_validator(command):
    _, parser = cli.build_parser(command)
    assert declaration_problems(command, parser) == []


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_validated_flag_refuses_impossible_values_in_one_line(command, elsewhere):
    _, parser = cli.build_parser(command)
    assert probe_problems(command, parser, parse_command(command)) == []


def test_every_command_has_validated_flags_to_probe():
    """The probes are not vacuous: all but table4 (one positional) have numeric or path flags."""
    for command in COMMANDS:
        _, parser = cli.build_parser(command)
        assert any(v.is_validated(a) for a in _actions(parser)), command


@pytest.mark.parametrize("command", list(COMMANDS))
def test_argument_errors_are_one_line_first(command, elsewhere):
    """An unknown flag and a missing required argument: the error line first, a hint after, no usage."""
    module, parser = cli.build_parser(command)
    assert isinstance(parser, CommandParser), command
    parse = parse_command(command)
    for argv in (["--no-such-flag", "1"], []):
        status, err = parse(argv)
        if status is None:  # nothing required (profile, bench, ...): only the unknown flag can fail
            assert argv == [], (command, argv)
            continue
        lines = err.splitlines()
        assert status == 2 and lines[0].startswith(f"dsan {command}: error: "), (command, argv, err)
        assert lines[1:] == [f"(dsan {command} --help explains every flag)"], (command, argv, err)


def test_dsan_errors_and_a_group_without_its_command_are_one_line(capsys):
    for argv, first in ((["export"], "dsan export: error: a command is needed: savedmodel, tflite"),
                        (["export", "pdf"], "dsan export: error: unknown command 'export pdf'"),
                        (["trian"], "dsan: error: unknown command 'trian'; did you mean 'train'?"),
                        (["--nope"], "dsan: error: unknown option '--nope'")):
        assert cli.main(argv) == 2
        lines = capsys.readouterr().err.splitlines()
        assert lines[0].startswith(first) and len(lines) == 2 and "usage" not in lines[0], (argv, lines)


def test_the_text_only_flags_and_the_word_lists_stay_honest():
    """TEXT_FLAGS names existing flags; simulate-centres' --rule updates are the model's."""
    for command, dest in TEXT_FLAGS:
        _, parser = cli.build_parser(command)
        assert any(a.dest == dest for a in _actions(parser)), (command, dest)
    tree = ast.parse((ROOT / "dsan_tf" / "model.py").read_text())
    model_updates = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                         and getattr(node.targets[0], "id", None) == "CENTRE_UPDATES")
    from dsan_tf.cli.simulate_centres import CENTRE_UPDATES

    assert CENTRE_UPDATES == model_updates


# ------------------------------------------------------------------ the rules can fail
def _synthetic(parser_class=CommandParser):
    p = parser_class(prog="dsan synthetic")
    p.add_argument("--good", type=v.positive_int(64), default=8, help="a count (default 8)")
    p.add_argument("--plain-int", type=int, default=3, help="lost its validator (default 3)")
    p.add_argument("--no-type", default=None, help="a number as text (default: none)")
    p.add_argument("--path", type=Path, default=None, help="a path without a check (default: none)")
    p.add_argument("--silent", type=v.probability, default=0.5)
    p.add_argument("--undated", type=v.probability, default=0.5, help="a probability")
    p.add_argument("--wrong-default", type=v.probability, default=0.5, help="a probability (default 0.25)")
    p.add_argument("--batch-size", type=v.text(), default=None, help="a number wrapped as text (default: none)")
    p.add_argument("--huge", type=v.float_in(0, 1e31), default=1.0, help="no sensible maximum (default 1)")
    p.add_argument("--word", choices=("a", "b"), default="a", help="a word (default a)")
    p.add_argument("--flag", action="store_true", help="a switch")
    return p


def test_the_declaration_rules_fail_on_a_synthetic_parser_with_bad_flags():
    problems = declaration_problems("synthetic", _synthetic())
    bad = {re.match(r"dsan synthetic (\S+):", line).group(1) for line in problems}
    assert bad == {"--plain-int", "--no-type", "--path", "--silent", "--undated", "--wrong-default",
                   "--batch-size", "--huge"}, problems


def _synthetic_parse(parser):
    def parse(argv):
        err = io.StringIO()
        status = None
        with contextlib.redirect_stderr(err):
            try:
                parser.parse_args(argv)
            except SystemExit as stop:
                status = stop.code
        return status, err.getvalue()
    return parse


def test_the_probes_fail_on_a_value_that_is_not_a_number_and_on_argparse_usage_blocks():
    parser = _synthetic()
    huge = ("1e30", "1" + "0" * 30)
    problems = probe_problems("synthetic", parser, _synthetic_parse(parser))
    assert {line.split(": ")[0] for line in problems} == {f"dsan synthetic --huge {p}" for p in huge}, problems
    parser.add_argument("--loose", type=v.custom("number", "a number", float), default=1.0, help="(default 1)")
    problems = probe_problems("synthetic", parser, _synthetic_parse(parser))
    assert {line.split(": ")[0] for line in problems} == {
        *(f"dsan synthetic --huge {p}" for p in huge),
        *(f"dsan synthetic --loose {p}" for p in ("nan", "inf", *huge))}, problems
    plain = argparse.ArgumentParser(prog="dsan synthetic")
    plain.add_argument("--good", type=v.positive_int(64), default=8, help="a count (default 8)")
    problems = probe_problems("synthetic", plain, _synthetic_parse(plain))
    assert problems and all("not a one-line error" in line for line in problems), problems


def test_the_validators_say_what_they_expect():
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected an integer in \[1, 1024\], got '0'"):
        v.positive_int(1024)("0")
    assert v.comma_list(v.model_image_size)("64, 112") == (64, 112)
    for bad in ("64,", "64,16", "", "64,nan"):
        with pytest.raises(argparse.ArgumentTypeError, match="comma-separated"):
            v.comma_list(v.model_image_size)(bad)
    assert v.fits_in_one_tensor(1024, 224) and not v.fits_in_one_tensor(100_000, 224)


# ------------------------------------------------------------------ impossible batches before TensorFlow
@pytest.mark.parametrize("argv, flag", [
    (["bench-serving", "--batch-sizes", "100000"], "--batch-sizes"),
    (["bench-serving", "--batch-sizes", "1,100000"], "--batch-sizes"),
    (["bench", "--batch-size", "1024", "--image-size", "512"], "--batch-size 1024 at --image-size 512"),
    (["predict", "--align-size", "0", "x.jpg"], "--align-size"),
    (["calibrate", "--weights", "ferplus", "--data-dir", ".", "--apply", "1e30", "--save", "m.keras"], "--apply"),
    (["explain", "--images", ".", "--method", "scorecam", "--output", "o", "--max-n", "513"], "--max-n"),
    (["make-sample", "--train-per-class", "-1"], "--train-per-class"),
    (["simulate-centres", "--rule", "centre-loss:nan:0.9"], "--rule"),
    (["bench-realtime", "--photo", ".", "--frames", "0"], "--photo"),
])
def test_impossible_values_are_refused_before_tensorflow(argv, flag, elsewhere, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and flag in err.splitlines()[0], err


def test_bench_serving_takes_batch_sizes_spaced_or_comma_separated(elsewhere):
    _, args = cli.parse_command_args("bench-serving", ["--batch-sizes", "1,8", "32"])
    assert args.batch_sizes == [1, 8, 32]
    _, args = cli.parse_command_args("bench-serving", [])
    assert args.batch_sizes == [1, 32]


def test_bench_pipeline_precision_defaults_to_auto():
    _, args = cli.parse_command_args("bench-pipeline", [])
    assert args.precision == "auto"


# ------------------------------------------------------------------ extras before any work
def test_a_missing_extra_is_named_before_the_command_runs(monkeypatch, capsys):
    from dsan_tf.cli import analyze

    calls = []
    monkeypatch.setattr(analyze, "run", lambda args: calls.append(args))
    real = cli.importlib.util.find_spec
    monkeypatch.setattr(cli.importlib.util, "find_spec",
                        lambda name, *rest: None if name == "sklearn" else real(name, *rest))
    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    assert cli.main(["analyze", "--weights", "ferplus", "--output", "o"]) == 2
    assert calls == []
    assert capsys.readouterr().err == (
        "dsan analyze: error: `dsan analyze` needs the optional dependencies of dsan_tf[analysis] (sklearn is "
        "not installed): pip install 'dsan_tf[analysis]'\n")
    # A command of the base install runs whatever extras are missing.
    assert cli.missing_extra("table4") is None and cli.missing_extra("analyze") == "sklearn"


# ------------------------------------------------------------------ the epoch line's total
def test_the_epoch_line_shows_the_runs_total(tmp_path):
    """fit_resumable runs Keras' fit one epoch at a time; the line still says 'epoch 2/3', not '2/2'."""
    import keras
    import numpy as np
    import tensorflow as tf

    from dsan_tf.progress import EpochLine
    from dsan_tf.training import fit_resumable

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    y = np.eye(2, dtype="float32")[[0, 1, 1, 0, 1, 0, 0, 1]]
    stream = io.StringIO()
    fit_resumable(model, lambda epoch: tf.data.Dataset.from_tensor_slices((x, y)).batch(4), 3, tmp_path,
                  verbose=0, extra_callbacks=[EpochLine(stream=stream, progress_bar=False)])
    assert [line.split(":")[0] for line in stream.getvalue().splitlines()] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]


# ---- round 4 blind mutants (issue 34)


def test_precision_auto_needs_a_native_bfloat16_flag_not_just_any_flag(tmp_path):
    """What --precision auto (the default above) resolves to from a CPU's flags, no GPU: float32 unless the
    CPU has amx_bf16 or avx512_bf16 (the hardware table itself: tests/test_pretrained.py)."""
    from dsan_tf.precision import cpu_description, resolve_precision

    # An AVX2-only EPYC's flags (a subset of a real /proc/cpuinfo line): neither amx_bf16 nor avx512_bf16.
    epyc = {"fpu", "sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"}
    assert resolve_precision("auto", flags=epyc, gpus=[])[0] == "float32"
    assert resolve_precision("auto", flags=set(), gpus=[])[0] == "float32"
    policy, reason = resolve_precision("auto", flags=epyc | {"avx512_bf16"}, gpus=[])
    assert policy == "mixed_bfloat16" and reason == "auto: CPU has native bfloat16 (avx512_bf16)"
    # cpu_description lists only the ISA extensions it knows, in its own order.
    info = tmp_path / "cpuinfo"
    info.write_text("model name\t: Toy CPU\nflags\t\t: amx_bf16 fpu avx2 sse4_2\n")
    assert cpu_description(info)["isa"] == ["avx2", "amx_bf16"] and cpu_description(info)["model"] == "Toy CPU"


# ------------------------------------------------------------------ which range each flag enforces (issue 34)
# The accepted range of every bounded numeric flag of every registered command, written out.
# ``RANGES`` is the specification: each entry was written from the flag's help and the limit it
# documents (``--image-size`` 32-512 because ResNet-18's last map must be at least 1x1, a seed below
# 2**32 as NumPy takes it, a probability in [0, 1], ...). Each flag's own validator is then probed at
# the edges: both ends accepted when closed, refused when open, and the nearest values outside refused.
# So a changed limit (``int_in(1, 512)`` -> ``int_in(1, 513)``, ``open_low`` dropped) fails here, and a
# new bounded flag fails ``test_every_bounded_numeric_flag_has_its_range_written_here`` until its range
# is added: the change of a limit is a deliberate edit of this table, not a side effect.
# (The tests above check that every flag HAS a validator; these, WHICH range it enforces.)

RANGES = {
    ("train", "--teacher-weight"): "float (0, 1]",
    ("train", "--checkpoint-every"): "int [1, 10000000]",
    ("train", "--time-budget-minutes"): "float [0, 1e+06]",
    ("train", "--seed"): "int [0, 4294967295]",
    ("train", "--verbose"): "int [0, 2]",
    ("train", "--alpha"): "float [0, 1]",
    ("train", "--lambda1"): "float [0, 1000]",
    ("train", "--lambda2"): "float [0, 1000]",
    ("train", "--split-num"): "int [1, 512]",
    ("train", "--reduction"): "int [1, 512]",
    ("train", "--centre-separation-weight"): "float [0, 1000]",
    ("train", "--image-size"): "int [32, 512]",
    ("train", "--epochs"): "int [1, 100000]",
    ("train", "--batch-size"): "int [1, 1024]",
    ("train", "--learning-rate"): "float (0, 10]",
    ("train", "--decay-rate"): "float (0, 1]",
    ("train", "--warmup-epochs"): "float [0, 100000]",
    ("train", "--weight-decay"): "float [0, 1]",
    ("train", "--centre-learning-rate"): "float (0, 100]",
    ("train", "--centre-momentum"): "float [0, 1)",
    ("train", "--ema-decay"): "float [0, 1)",
    ("train", "--rotation"): "float [0, 180]",
    ("train", "--random-erasing"): "float [0, 1]",
    ("predict", "--camera"): "int [0, 1000]",
    ("predict", "--smooth"): "int [1, 1000]",
    ("predict", "--search-every"): "int [1, 10000]",
    ("predict", "--frame-stride"): "int [1, 1000000]",
    ("predict", "--max-frames"): "int [1, 10000000]",
    ("predict", "--min-confidence"): "float [0, 1]",
    ("predict", "--min-face-size"): "int [1, 65535]",
    ("predict", "--align-size"): "int [8, 1024]",
    ("explain", "--min-confidence"): "float [0, 1]",
    ("explain", "--min-face-size"): "int [1, 65535]",
    ("explain", "--batch-size"): "int [1, 256]",
    ("explain", "--columns"): "int [1, 64]",
    ("explain", "--max-n"): "int [1, 512]",
    ("explain", "--alpha"): "float [0, 1]",
    ("explain", "--per-class"): "int [1, 100000]",
    ("explain", "--seed"): "int [0, 4294967295]",
    ("analyze", "--max-images"): "int [5, 10000000]",
    ("analyze", "--batch-size"): "int [1, 1024]",
    ("analyze", "--perplexity"): "float (0, 1000]",
    ("analyze", "--seed"): "int [0, 4294967295]",
    ("align", "--size"): "int [8, 1024]",
    ("align", "--min-confidence"): "float [0, 1]",
    ("align", "--min-face-size"): "int [1, 65535]",
    ("export savedmodel", "--version"): "int [1, 9223372036854775807]",
    ("export savedmodel", "--num-batch-threads"): "int [1, 1024]",
    ("export tflite", "--limit"): "int [1, 10000000]",
    ("client", "--version"): "int [1, 9223372036854775807]",
    ("client", "--batch-size"): "int [1, 1024]",
    ("client", "--timeout"): "float (0, 1e+06]",
    ("client", "--align-size"): "int [8, 1024]",
    ("client", "--min-confidence"): "float [0, 1]",
    ("client", "--min-face-size"): "int [1, 65535]",
    ("bench", "--image-size"): "list of int [32, 512]",
    ("bench", "--batch-size"): "int [1, 1024]",
    ("bench", "--num-classes"): "int [2, 1000]",
    ("bench", "--steps"): "int [1, 1000000]",
    ("bench", "--round-seconds"): "float (0, 86400]",
    ("bench", "--warmup"): "int [0, 10000]",
    ("bench", "--rounds"): "int [1, 1000]",
    ("bench", "--seed"): "int [0, 4294967295]",
    ("bench", "--threads"): "int [1, 1024]",
    ("bench", "--profile-top"): "int [0, 1000]",
    ("bench-serving", "--image-size"): "int [32, 512]",
    ("bench-serving", "--num-classes"): "int [2, 1000]",
    ("bench-serving", "--batch-sizes"): "list of int [1, 1024]",
    ("bench-serving", "--repeats"): "int [1, 100000]",
    ("bench-serving", "--warmup"): "int [0, 10000]",
    ("bench-realtime", "--frames"): "int [1, 100000]",
    ("bench-realtime", "--search-every"): "int [1, 10000]",
    ("bench-pipeline", "--image-size"): "int [32, 512]",
    ("bench-pipeline", "--batch-size"): "int [1, 1024]",
    ("bench-pipeline", "--steps"): "int [1, 100000]",
    ("bench-pipeline", "--train-steps"): "int [1, 100000]",
    ("bench-pipeline", "--rotation"): "float [0, 180]",
    ("bench-pipeline", "--erasing"): "float [0, 1]",
    ("profile", "--num-classes"): "int [2, 1000]",
    ("profile", "--image-size"): "int [32, 512]",
    ("profile", "--num-splits"): "int [1, 512]",
    ("profile", "--reduction"): "int [1, 512]",
    ("profile", "--sa-layers"): "int [1, 2]",
    ("ablate", "--seeds"): "int [0, 4294967295]",
    ("compare", "--epochs"): "int [1, 10000000]",
    ("tfrecords", "--shards"): "int [1, 100000]",
    ("tfrecords", "--shard-size"): "int [1, 10000000]",
    ("tfrecords", "--image-size"): "int [8, 65535]",
    ("tfrecords", "--jpeg-quality"): "int [1, 100]",
    ("ship", "--min-agreement"): "float [0, 1]",
    ("calibrate", "--taus"): "list of float [0, 10]",
    ("calibrate", "--apply"): "float [0, 10]",
    ("teacher-labels", "--temperature"): "float (0, 100]",
    ("teacher-labels", "--batch-size"): "int [1, 4096]",
    ("simulate-centres", "--epochs"): "int [1, 1000]",
    ("simulate-centres", "--batch-size"): "int [1, 1024]",
    ("simulate-centres", "--weight-decay"): "float [0, 1]",
    ("simulate-centres", "--seed"): "int [0, 4294967295]",
    ("make-sample", "--seed"): "int [0, 4294967295]",
    ("make-sample", "--train-per-class"): "int [1, 10000]",
    ("make-sample", "--valid-per-class"): "int [1, 10000]",
    ("make-sample", "--dropped"): "int [0, 10000]",
}

SPEC = re.compile(r"(list of )?(int|float) ([\[(])(-?[\d.e+]+), (-?[\d.e+]+)([\])])")


def bounded_flags():
    """{(command, flag): validator} of every flag whose validator bounds a number (or a list of numbers)."""
    found = {}
    for name in COMMANDS:
        _, parser = cli.build_parser(name)
        for action in parser._actions:
            kind = action.type
            if isinstance(kind, v.Validator) and re.search(r"(an integer|a finite number) in [\[(]", kind.expected):
                found[(name, action.option_strings[0] if action.option_strings else action.dest)] = kind
    return found


FLAGS = bounded_flags()


def test_every_bounded_numeric_flag_has_its_range_written_here():
    assert not set(FLAGS) - set(RANGES), f"flags with no range in RANGES: {sorted(set(FLAGS) - set(RANGES))}"
    assert not set(RANGES) - set(FLAGS), f"RANGES names flags no command has: {sorted(set(RANGES) - set(FLAGS))}"


def _accepts(validator, value):
    try:
        validator(value)
    except argparse.ArgumentTypeError:
        return False
    return True


def _outside(bound, kind, below):
    """The nearest value outside ``bound``: one integer away, or a relative step of 1e-6 (at least 1e-9)."""
    if kind == "int":
        return str(int(bound) - 1 if below else int(bound) + 1)
    value = float(bound)
    step = max(abs(value) * 1e-6, 1e-9)
    return repr(value - step if below else value + step)


@pytest.mark.parametrize("command, flag", sorted(RANGES))
def test_each_flag_accepts_its_range_and_refuses_the_values_just_outside(command, flag):
    is_list, kind, open_low, low, high, open_high = SPEC.fullmatch(RANGES[(command, flag)]).groups()
    validator = FLAGS[(command, flag)]
    low_text, high_text = low, high
    assert _accepts(validator, low_text) == (open_low == "["), (low_text, validator)
    assert _accepts(validator, high_text) == (open_high == "]"), (high_text, validator)
    assert not _accepts(validator, _outside(low, kind, below=True)), validator
    assert not _accepts(validator, _outside(high, kind, below=False)), validator
    if kind == "int":  # a fraction is not an integer, even inside the range
        assert not _accepts(validator, f"{int(low)}.5"), validator
    if is_list:  # every item is checked: a good item beside a bad one does not pass
        assert not _accepts(validator, f"{low_text if open_low == '[' else high_text},{_outside(high, kind, False)}")

"""The shared flag validators (dsan_tf/cli/validators.py) against a hand-written reading of their bounds
(issue 34): Hypothesis draws values on, inside and outside each bound, open and closed."""

import argparse
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hypothesis_settings import fast

from dsan_tf.cli import validators as v

FAST = fast(60)


@FAST
@given(st.integers(-50, 50), st.integers(0, 40), st.integers(-100, 100))
def test_int_in_accepts_exactly_the_closed_range(low, width, value):
    check = v.int_in(low, low + width)
    if low <= value <= low + width:
        assert check(str(value)) == value and check(f" {value} ") == value
    else:
        with pytest.raises(argparse.ArgumentTypeError, match=rf"expected an integer in \[{low}, {low + width}\]"):
            check(str(value))


@FAST
@given(st.floats(-10, 10), st.floats(0, 10), st.booleans(), st.booleans(),
       st.one_of(st.floats(-30, 30), st.sampled_from([math.nan, math.inf, -math.inf])))
def test_float_in_respects_open_and_closed_bounds(low, width, open_low, open_high, value):
    high = low + width
    check = v.float_in(low, high, open_low=open_low, open_high=open_high)
    inside = (math.isfinite(value) and (low < value if open_low else low <= value)
              and (value < high if open_high else value <= high))
    text = repr(value)
    if inside:
        assert check(text) == value
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            check(text)
    for edge, is_open in ((low, open_low), (high, open_high)):
        if is_open:
            with pytest.raises(argparse.ArgumentTypeError):
                check(repr(edge))
        elif low <= edge <= high and not (edge == low and open_low) and not (edge == high and open_high):
            assert check(repr(edge)) == edge


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "x", "", "nan", "1e3"])
def test_positive_int_refuses_what_is_not_a_count(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected an integer in \\[1, "):
        v.positive_int()(text)
    assert v.positive_int()("7") == 7 and v.non_negative_int()("0") == 0


def test_probability_and_positive_float_bounds():
    assert v.probability("0") == 0.0 and v.probability("1") == 1.0
    for bad in ("-0.01", "1.01", "nan", "inf"):
        with pytest.raises(argparse.ArgumentTypeError):
            v.probability(bad)
    with pytest.raises(argparse.ArgumentTypeError):
        v.positive_float()("0")
    assert v.non_negative_float()("0") == 0.0 and v.positive_float()("1e-9") == 1e-9


def test_path_validators_name_the_problem(tmp_path):
    file = tmp_path / "f.txt"
    file.write_text("x")
    assert v.existing_file(str(file)) == file and v.existing_dir(str(tmp_path)) == tmp_path
    assert v.existing_path(str(file)) == file and v.existing_path(str(tmp_path)) == tmp_path
    for check, arg, problem in ((v.existing_file, tmp_path / "none", "no such file"),
                                (v.existing_file, tmp_path, "is a folder, expected a file"),
                                (v.existing_dir, tmp_path / "none", "no such folder"),
                                (v.existing_dir, file, "is a file, expected a folder"),
                                (v.existing_path, tmp_path / "none", "no such file or folder")):
        with pytest.raises(argparse.ArgumentTypeError, match=problem):
            check(str(arg))


# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


def test_seed_takes_every_32_bit_value_from_zero():
    """validators-seed-zero-refused: NumPy's legacy seeding takes 0 .. 2**32 - 1."""
    import argparse

    from dsan_tf.cli import validators as v

    assert v.seed("0") == 0 and v.seed("4294967295") == 4294967295
    for bad in ("-1", "4294967296"):
        with pytest.raises(argparse.ArgumentTypeError):
            v.seed(bad)


def test_tensor_guard_rounds_an_odd_side_up():
    """validators-tensor-half-side-floored: ResNet's conv1 (k7, s2, p3) turns 225 px into (225 + 6 - 7) // 2 + 1
    = 113 px; 64 channels x 113 x 113 = 817,216 elements per image, so 2,627 images fit in 2**31 - 1 and 2,628 do
    not (with the side floored to 112 both would seem to fit)."""
    from dsan_tf.cli import validators as v

    per_image = 64 * 113 * 113
    assert 2627 * per_image <= 2**31 - 1 < 2628 * per_image
    assert v.fits_in_one_tensor(2627, 225)
    assert not v.fits_in_one_tensor(2628, 225)


def test_output_suffixes_are_matched_whatever_their_case():
    """validators-output-suffix-case-sensitive: RESULT.CSV is a .csv file name."""
    import argparse
    from pathlib import Path

    from dsan_tf.cli import validators as v

    check = v.output_path(".csv", ".jsonl")
    assert check("RESULT.CSV") == Path("RESULT.CSV") and check("faces.JsonL") == Path("faces.JsonL")
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected a \.csv or \.jsonl file name"):
        check("result.txt")


def test_integers_are_decimal_and_text_has_no_nul():
    """validators-int-takes-hex-and-octal, validators-text-takes-nul: '010' is ten, '0x40' is not a count;
    a name with a NUL byte can never be a file name."""
    import argparse

    from dsan_tf.cli import validators as v

    assert v.positive_int()("010") == 10 and v.int_in(0, 100)("007") == 7
    for bad in ("0x40", "0o10", "0b11"):
        with pytest.raises(argparse.ArgumentTypeError):
            v.positive_int()(bad)
    assert v.text()("run-1") == "run-1"
    for bad in ("a\0b", "two\nlines", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a non-empty name"):
            v.text()(bad)


# round 2 blind mutants (issue 34)
def test_a_list_takes_exactly_max_items_values_and_not_one_more():
    """r2-validators-list-max-items-exclusive: comma_list(max_items=3) takes 3 values, refuses 4."""
    check = v.comma_list(v.positive_int(), min_items=2, max_items=3)
    assert check("64,112,7") == (64, 112, 7) and check("5,6") == (5, 6)
    for text in ("1,2,3,4", "9"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected 2 to 3 comma-separated values"):
            check(text)


def test_path_flags_expand_a_quoted_tilde(tmp_path, monkeypatch):
    """r2-validators-tilde-not-expanded: '--weights ~/m.keras' given quoted (or from a config) still means
    the home folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "m.keras").write_bytes(b"x")
    (tmp_path / "faces").mkdir()
    assert v.existing_file("~/m.keras") == tmp_path / "m.keras"
    assert v.existing_dir("~/faces") == tmp_path / "faces"
    assert v.output_path(".csv")("~/out.csv") == tmp_path / "out.csv"


# ---- lines its own tests never ran (issue 34)


def test_an_unreadable_file_and_an_empty_output_name_are_refused_by_name(tmp_path, monkeypatch):
    """_file_problem's permission refusal (as root os.access always says yes, so it is stood in for), and
    _output_problem's refusal of a blank or NUL-holding name, each in the one line argparse prints."""
    file = tmp_path / "m.keras"
    file.write_bytes(b"x")
    monkeypatch.setattr(v.os, "access", lambda path, mode: False)
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        v.existing_file(str(file))
    assert str(refused.value) == f"{file}: not readable (permission denied)"
    monkeypatch.undo()
    for bad in ("   ", "a\0b"):
        for check in (v.output_path(), v.output_path(".csv"), v.any_path):
            with pytest.raises(argparse.ArgumentTypeError) as refused:
                check(bad)
            assert str(refused.value) == f"{bad}: expected a file or folder name"
    assert v.any_path("runs/a") == v.output_path()("runs/a") == __import__("pathlib").Path("runs/a")


def test_a_model_reference_is_an_existing_path_or_a_shipped_name(tmp_path, monkeypatch):
    """_model_problem: an existing file or folder passes as it is (no look-up of shipped names); a missing
    one that is no shipped name is refused naming the shipped models (or saying none ships)."""
    from dsan_tf import pretrained

    model = tmp_path / "m.keras"
    model.write_bytes(b"x")
    monkeypatch.setattr(pretrained, "is_shipped_name", lambda name: name == "ferplus")
    monkeypatch.setattr(pretrained, "available", lambda: ["ferplus", "rafdb"])
    assert v.model_reference(str(model)) == model and v.model_reference(str(tmp_path)) == tmp_path
    assert str(v.model_reference("ferplus")) == "ferplus"
    missing = tmp_path / "none.keras"
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        v.model_reference(str(missing))
    assert str(refused.value) == f"{missing}: no such model file (shipped models, given by name: ferplus, rafdb)"
    monkeypatch.setattr(pretrained, "available", lambda: [])
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        v.model_reference(str(missing))
    assert str(refused.value) == f"{missing}: no such model file (no model ships with this installation yet)"


def test_text_choices_custom_and_as_text_validators():
    """as_text keeps the checked value as text; one_of takes only its words; custom turns None, ValueError
    and ArgumentTypeError from its parser into the one refusal naming what was expected."""
    kept = v.as_text(v.positive_int(maximum=10))
    assert kept(" 7 ") == "7" and kept.expected == "an integer in [1, 10]" and kept.__name__ == "integer"
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected an integer in \[1, 10\], got '11'"):
        kept("11")
    words = v.one_of(["fp32", "fp16"])
    assert words("fp16") == "fp16" and words.expected == "one of fp32, fp16"
    with pytest.raises(argparse.ArgumentTypeError, match="expected one of fp32, fp16, got 'int8'"):
        words("int8")

    def parse(text):
        if text == "raise":
            raise argparse.ArgumentTypeError("inner words")
        width, _, height = text.partition("x")
        return (int(width), int(height)) if height else None

    size = v.custom("size", "WIDTHxHEIGHT", parse)
    assert size("640x480") == (640, 480) and size.__name__ == "size"
    for bad in ("640", "axb", "raise"):
        with pytest.raises(argparse.ArgumentTypeError) as refused:
            size(bad)
        assert str(refused.value) == f"expected WIDTHxHEIGHT, got {bad!r}"


def test_a_list_refuses_an_empty_item_and_a_bad_item_and_reports_bounds():
    """comma_list: '1,,2' (an empty item) and '1,x' (a bad item) are refused in the list's own words;
    numeric_bounds reads a list's item bounds, and None for a non-numeric validator."""
    check = v.comma_list(v.int_in(1, 9), min_items=1, max_items=4)
    assert check(" 1 , 2 ") == (1, 2)
    for bad in ("1,,2", "1,x", "1,10", ","):
        with pytest.raises(argparse.ArgumentTypeError) as refused:
            check(bad)
        assert str(refused.value) == (f"expected 1 to 4 comma-separated values, each an integer in [1, 9], "
                                      f"got {bad!r}")
    assert v.numeric_bounds(check) == (1, 9)
    assert v.numeric_bounds(v.float_in(0.5, 2.0)) == (0.5, 2.0)
    assert v.numeric_bounds(v.text()) is None and v.numeric_bounds(v.existing_file) is None
    assert v.float_in(0.0, 1.0, open_low=True, open_high=True).expected == "a finite number in (0, 1)"
    assert repr(v.probability) == "<_Float: a finite number in [0, 1]>"

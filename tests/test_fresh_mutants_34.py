"""Tests written for the survivors of the fresh blind mutant set (issue 34, 2026-12-07 afternoon).

Each test names the mutant of ``tests/mutation/mutants.py`` (FRESH_BLIND) it kills; every expected
value is written out by hand or computed independently of the code under test.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from dsan_tf import outputs
from dsan_tf.outputs import MARKER, OutputPolicy


# ---------------------------------------------------------------------- output policy


def _marked(folder: Path, kind: str, names):
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


# ---------------------------------------------------------------------- flag validators


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

    from dsan_tf.cli import validators as v

    check = v.output_path(".csv", ".jsonl")
    assert check("RESULT.CSV") == Path("RESULT.CSV") and check("faces.JsonL") == Path("faces.JsonL")
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected a \.csv or \.jsonl file name"):
        check("result.txt")


def test_a_file_in_a_sub_folder_of_a_claimed_folder_is_recorded_and_replaced_on_a_rerun(tmp_path):
    """outputs-manifest-only-for-direct-children: annotated copies mirror their inputs' sub-folders
    (out/2024/a.png); the marker must list them so that a rerun of the same kind may replace them."""
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


# ---------------------------------------------------------------------- flip averaging


def test_flip_averaging_averages_the_baselines_logits_too():
    """flip-average-leaves-logits-unaveraged: the single-classifier baseline's output is "logits"; with
    flip averaging they are the mean over the face and its mirror image (mirrored here with NumPy), as
    the probabilities are."""
    from dsan_tf.calibration import with_prior_correction
    from dsan_tf.model import build_dsan

    model = build_dsan(3, 32, "baseline")
    images = np.random.default_rng(5).uniform(-2, 2, (2, 32, 32, 3)).astype("float32")
    mirrored = images[:, :, ::-1, :].copy()
    a, b = model(images, training=False), model(mirrored, training=False)
    assert np.abs(np.asarray(a["logits"]) - np.asarray(b["logits"])).max() > 1e-4  # orientation matters
    out = with_prior_correction(model, None, flip_average=True)(images, training=False)
    for key in ("logits", "probabilities"):
        np.testing.assert_allclose(np.asarray(out[key]), (np.asarray(a[key]) + np.asarray(b[key])) / 2, atol=1e-5)

"""Parameter and MAC counts against the paper (Tables 1 and 7), and the profile/bench CLIs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from script_loader import load_script

from dsan_tf import profiling
from dsan_tf.model import build_dsan

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"


@pytest.fixture(scope="module")
def models_224():
    """The paper's setting, built once per module: K=7, 224x224."""
    return {variant: build_dsan(7, 224, variant, dtype="float32") for variant in ("baseline", "dsan")}


def test_dsan_parameter_count_is_exact(models_224):
    counts = profiling.count_parameters(models_224["dsan"])
    assert counts == {"params_trainable": 11_327_506, "params_non_trainable": 9_984, "centres": 7 * 128}


def test_baseline_parameter_count(models_224):
    # ResNet-18 trunk 11,176,512 + FC(512 -> 7) 3,591 (paper: 11.18 M); no centres.
    counts = profiling.count_parameters(models_224["baseline"])
    assert counts == {"params_trainable": 11_180_103, "params_non_trainable": 9_600, "centres": 0}


def test_macs_match_table1(models_224):
    baseline = profiling.count_macs(models_224["baseline"])
    dsan = profiling.count_macs(models_224["dsan"])
    assert abs(baseline / 1818.56e6 - 1) < 0.001
    assert abs(dsan / 1821.82e6 - 1) < 0.005
    # Trunk: conv 1,813,561,344 + 2 x 2,483,712 BatchNorm outputs; the heads per the docstring.
    assert baseline == 1_813_561_344 + 2 * 2_483_712 + 512 * 7
    heads = (512 * 128) + (128 * 64 + 2 * 64 + 64 * 128 + 2 * 128) + 128 * 7  # HFE1, SA, classifier
    heads += 4 * 128 * 128 + 4 * 128 + 4 * 128 + 128 * 7  # HFE2, LFA, weighted sum, classifier
    assert dsan == baseline - 512 * 7 + heads
    assert profiling.profile(models_224["dsan"])["flops"] == 2 * dsan


def test_sparse_attention_params_match_table7():
    for (layers, r), paper in profiling.PAPER_TABLE7.items():
        assert profiling.sparse_attention_params(r, layers) == paper, (layers, r)
    assert [row[2] for row in profiling.table7_rows()] == list(profiling.PAPER_TABLE7.values())


def test_unknown_weighted_layer_is_refused():
    import keras

    class Odd(keras.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(1,))

        def call(self, x):
            return x * self.w

    inputs = keras.Input((4,))
    model = keras.Model(inputs, Odd()(inputs))
    with pytest.raises(NotImplementedError, match="no MAC rule"):
        profiling.count_macs(model)


def _run(script, *args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, str(EXPERIMENTS / script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )


def test_profile_cli_json_keys():
    proc = _run("profile.py", "--num-classes", "7", "--image-size", "64", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    for key in ("params_trainable", "params_non_trainable", "centres", "macs", "flops"):
        assert isinstance(result[key], int), key
    # Parameters do not depend on the image size.
    assert result["params_trainable"] == 11_327_506
    assert result["centres"] == 896
    assert result["flops"] == 2 * result["macs"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--variant", "resnet"], "argument --variant: invalid choice: 'resnet'"),
        (["--num-splits", "3"], "must divide"),
        (["--image-size", "16"], "argument --image-size: expected an integer in [32, 512], got '16'"),
    ],
)
def test_profile_cli_bad_input(argv, message, capsys):
    profile_cli = load_script("profile")
    try:
        status = profile_cli.main(argv)
    except SystemExit as stop:  # refused by the flag (argparse)
        status = stop.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dsan profile: error: ") and message in err
    assert err.count("\n") <= 1 and "Traceback" not in err  # the error line, then at most a hint


def test_profile_script_does_not_shadow_stdlib_profile():
    # experiments/ is first on sys.path for its scripts; keras imports cProfile -> profile.
    code = "import profile, cProfile; assert hasattr(profile, 'run'), profile.__file__"
    proc = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(EXPERIMENTS)!r}); {code}"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_bench_smoke(capsys):
    bench = load_script("bench")
    # One timed step per model, no untimed one: the first call traces the step either way.
    argv = ["--image-size", "32", "--batch-size", "4", "--steps", "1", "--warmup", "0", "--rounds", "1", "--json"]
    assert bench.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["train_ratio_dsan_over_baseline"] > 0
    for precision in ("float32", "mixed_bfloat16"):
        assert result[f"train_ratio_dsan_over_baseline_{precision}"] > 0
        assert result[f"infer_ratio_dsan_over_baseline_{precision}"] > 0


# ---- round 4 blind mutants (issue 34)


def test_paper_rows_only_at_the_papers_setting():
    """r4-profile-paper-row-for-more-classes: the paper's Table 1 is K=7 at 224 px, F=4, r=2, 2 SA layers; an
    8-class (or 2-class) model, or another size, gets no paper row."""
    profile_cli = load_script("profile")
    parse = profile_cli.build_parser().parse_args
    assert profile_cli._is_paper_setting(parse([])) is True
    for argv in (["--num-classes", "8"], ["--num-classes", "2"], ["--image-size", "112"], ["--num-splits", "8"]):
        assert profile_cli._is_paper_setting(parse(argv)) is False, argv


def test_profile_json_names_the_settings_asked_for(monkeypatch, capsys):
    """r4-profile-json-image-size-field: --json reports the variant, K and input size given on the command line
    (the model and its count are stand-ins: only the command's own fields are checked)."""
    profile_cli = load_script("profile")
    monkeypatch.setattr(profile_cli, "_build", lambda args, variant: None)
    monkeypatch.setattr(profiling, "profile", lambda model: {"params_trainable": 1, "params_non_trainable": 2,
                                                             "centres": 3, "macs": 4, "flops": 8})
    assert profile_cli.main(["--num-classes", "5", "--image-size", "96", "--variant", "gfe", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["variant"], printed["num_classes"], printed["image_size"]) == ("gfe", 5, 96)
    assert (printed["macs"], printed["flops"]) == (4, 8)


# ---- round 6 blind mutants (issue 34)


def test_no_paper_row_with_one_sa_layer_or_another_reduction():
    """r6-profile-paper-row-any-sa-layers: the paper's Table 1 model has 2 SA layers and r = 2; --sa-layers 1
    (or --reduction 4) at K=7, 224 px, F=4 gets no paper row."""
    profile_cli = load_script("profile")
    parse = profile_cli.build_parser().parse_args
    for argv in (["--sa-layers", "1"], ["--reduction", "4"]):
        assert profile_cli._is_paper_setting(parse(argv)) is False, argv


def test_table_diff_compares_macs_with_the_papers_mflops(monkeypatch, capsys):
    """r6-profile-table-diff-from-flops: the paper's "MFLOPs" are thop's MACs, so --table's diff column is
    MACs against them. Counts scripted 1 % above the paper's (baseline 1818.56 M, dsan 1821.82 M, Table 1),
    FLOPs = 2 x MACs: both rows read +1.000 % (by hand: 1.01 - 1), never ~+102 %."""
    profile_cli = load_script("profile")
    paper = {"baseline": 1818.56e6, "dsan": 1821.82e6}
    monkeypatch.setattr(profile_cli, "_build", lambda args, variant: variant)
    monkeypatch.setattr(profiling, "profile", lambda variant: {
        "params_trainable": 1, "params_non_trainable": 2, "centres": 3,
        "macs": round(1.01 * paper[variant]), "flops": 2 * round(1.01 * paper[variant])})
    assert profile_cli.main(["--table"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith(("baseline", "dsan"))]
    assert len(rows) == 2 and all("+1.000 %" in row and "+102" not in row for row in rows), rows


# ---- round 8 blind mutants (issue 34)


@pytest.mark.parametrize("use_hfe, use_lfa, macs", [(True, True, 96), (True, False, 80), (False, True, 32),
                                                    (False, False, 16)])
def test_local_feature_attention_macs_follow_each_ablation_flag(use_hfe, use_lfa, macs):
    """r8-profiling-lfa-follows-hfe-flag: F = 4 chunks of c = 16 / 4 = 4: HFE2 F*c*c = 64 only with use_hfe,
    LFA F*c = 16 only with use_lfa, the weighted sum F*c = 16 always (by hand, the module docstring's rules)."""
    import keras

    from dsan_tf.layers import LocalFeatureAttention

    layer = LocalFeatureAttention(num_splits=4, use_hfe=use_hfe, use_lfa=use_lfa)
    layer(keras.Input((16,)))
    assert profiling.layer_macs(layer) == macs

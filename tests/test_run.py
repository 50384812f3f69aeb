"""experiments/run.py end to end on the embedded FERPlus sample (tiny images, one epoch)."""

import json

import numpy as np
import pytest
from script_loader import load_script, refused
from PIL import Image

FAST = ["--image-size", "32", "--epochs", "1", "--batch-size", "64", "--verbose", "0"]


@pytest.fixture(scope="module")
def run_cli():
    return load_script("run")


@pytest.fixture(scope="module")
def trained(run_cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "smoke"
    # Soft-label training; the evaluation must still score FERPlus' majority votes.
    run_cli.main(["--dataset", "ferplus", "--output", str(out), "--label-mode", "probability", *FAST])
    return out


def test_smoke_run_writes_every_output(trained):
    for name in ("model.keras", "config.json", "metrics.json", "confusion_matrix.png", "history.csv",
                 "training_curves.png"):
        assert (trained / name).is_file(), name
    assert any((trained / "checkpoints").iterdir()) and (trained / "tensorboard").is_dir()
    metrics = json.loads((trained / "metrics.json").read_text())
    config = json.loads((trained / "config.json").read_text())
    assert config["settings"]["smoke_run_on_sample"] and config["versions"]["tensorflow"]
    assert config["versions"]["cpu"]["model"]  # timings in a run mean little without the CPU
    # The smoke preset asks for float32; config.json records the policy used and why.
    assert config["settings"]["precision"] == "float32" and config["settings"]["precision_reason"]
    from dsan_tf.inference import load_dsan

    assert load_dsan(trained / "model.keras").settings["grayscale_input"] is True  # FERPlus faces are grey
    assert metrics["split"] == "valid"  # the sample has no test split, and says so
    assert set(metrics["stream_accuracy"]) == {"fused", "gfe", "mff"}
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.shape == (8, 8) and matrix.sum() == metrics["count"]
    assert metrics["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert 0.0 <= metrics["p_attention_zero"] <= 1.0
    assert metrics["params_trainable"] == 11_327_506 + 2 * 129  # K=8: two classifiers with one more class (128+1 each)
    assert metrics["training"]["model_selection"] == "last epoch"
    # without --ema-decay the run keeps no average of the weights (dsan_tf/ema.py): nothing of it anywhere
    import tensorflow as tf

    assert config["settings"]["ema_decay"] == 0 and not (trained / "model-last.keras").exists()
    checkpointed = [name for name, _ in tf.train.list_variables(str(trained / "checkpoints"))]
    assert checkpointed and not any(name.startswith("ema/") for name in checkpointed)
    assert "last_weights_accuracy" not in metrics
    from dsan_tf.data.registry import load_dataset

    assert metrics["training"]["label_mode"] == "probability" and metrics["label_mode"] == "majority"
    assert metrics["count"] == len(load_dataset("ferplus", label_mode="majority").split("valid"))
    assert metrics["count"] != len(load_dataset("ferplus", label_mode="probability").split("valid"))


def test_eval_only_reproduces_the_metrics(run_cli, trained, tmp_path):
    run_cli.main(["--dataset", "ferplus", "--eval-only", "--weights", str(trained / "model.keras"),
                  "--output", str(tmp_path), "--batch-size", "64"])
    again = json.loads((tmp_path / "metrics.json").read_text())
    first = json.loads((trained / "metrics.json").read_text())
    assert again["confusion_matrix"] == first["confusion_matrix"]


def test_resume_with_another_configuration_is_refused(run_cli, trained):
    refused(run_cli.main, ["--dataset", "ferplus", "--output", str(trained), "--resume", *FAST[:1], "48", *FAST[2:]],
            "another configuration.*image_size")


def test_non_empty_output_is_not_overwritten(run_cli, trained):
    before = (trained / "metrics.json").read_bytes()
    refused(run_cli.main, ["--dataset", "ferplus", "--output", str(trained), *FAST], "not empty")
    assert (trained / "metrics.json").read_bytes() == before


def test_eval_only_refuses_a_dataset_with_other_classes(run_cli, trained, tmp_path):
    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            (tmp_path / "data" / split / cls).mkdir(parents=True)
            Image.new("RGB", (40, 40), (200, 10, 10)).save(tmp_path / "data" / split / cls / "a.png")
    refused(run_cli.main, ["--dataset", "folder", "--data-dir", str(tmp_path / "data"), "--eval-only",
                           "--weights", str(trained / "model.keras"), "--output", str(tmp_path / "eval")],
            "trained for classes")


def test_subset_list_matching_nothing_is_an_error(run_cli, trained, tmp_path):
    listing = tmp_path / "pose.txt"
    listing.write_text("0/fer9999999.jpg\n")
    refused(run_cli.main, ["--dataset", "ferplus", "--eval-only", "--weights", str(trained / "model.keras"),
                           "--output", str(tmp_path / "eval"), "--subset", f"pose={listing}"],
            "none of the 1 names")


def test_unknown_preset_is_an_argparse_error(run_cli):
    with pytest.raises(SystemExit):
        run_cli.parse_args(["--dataset", "ferplus", "--preset", "fastest"])


def test_mixed_precision_flag_without_a_value_means_auto(run_cli):
    args = run_cli.parse_args(["--dataset", "ferplus", "--mixed-precision"])
    assert args.mixed_precision == "auto"
    settings = run_cli.build_settings(run_cli.parse_args(["--dataset", "ferplus", "--data-dir", ".", "--preset", "cpu"]))
    assert settings["mixed_precision"] == "auto"


# ---- round 4 blind mutants (issue 34)


def test_the_line_after_ctrl_c_continues_with_resume_once(run_cli, tmp_path):
    """r4-train-interrupt-line-resume-inverted: after Ctrl-C, the command to continue is the one typed plus
    --resume; a run already started with --resume gets it once, not twice."""
    import shlex
    from types import SimpleNamespace

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")
    argv = ["--dataset", "ferplus", "--output", str(run_dir)]
    args = SimpleNamespace(settings={"output": str(run_dir)}, eval_only=False, invocation=["dsan", "train"],
                           argv=list(argv), output=str(run_dir), resume=False)
    expected = "interrupted; to continue: dsan train --dataset ferplus --output " + shlex.quote(str(run_dir)) + \
        " --resume"
    assert run_cli.interrupted_line(args, KeyboardInterrupt()) == expected
    args.argv, args.resume = [*argv, "--resume"], True
    assert run_cli.interrupted_line(args, KeyboardInterrupt()) == expected


@pytest.mark.parametrize("value", ["occlusion=", "=lists/occlusion.txt", "occlusion"])
def test_a_subset_without_its_name_or_list_is_an_argument_error(run_cli, value, capsys):
    """r4-train-subset-without-list-accepted: --subset takes NAME=LIST_FILE, both parts needed."""
    with pytest.raises(SystemExit) as stop:
        run_cli.main(["--dataset", "ferplus", "--subset", value])
    assert stop.value.code == 2 and "--subset" in capsys.readouterr().err


# ---- round 5 blind mutants (issue 34)
def test_the_time_budget_is_given_in_minutes_and_each_epoch_has_its_own_seed(tmp_path, monkeypatch):
    """r5-runner-time-budget-in-seconds, r5-runner-same-shuffle-every-epoch: --time-budget-minutes 2.5
    reaches training as 150 s (2.5 * 60), and train_data(epoch) seeds epoch e's dataset with
    seed * 1000 + e (--seed 7: 7000, 7001, 7002), so no two epochs share their order and augmentation."""
    from test_training import what_training_is_given

    seen = what_training_is_given(monkeypatch, ["--dataset", "ferplus", *FAST, "--seed", "7", "--time-budget-minutes",
                                                "2.5", "--output", str(tmp_path / "run")])
    assert (seen["budget"], seen["seeds"]) == (150.0, [7000, 7001, 7002])


def test_a_resume_that_starts_over_drops_the_dead_runs_history(tmp_path, caplog):
    """r5-runner-restart-keeps-old-history: --resume of a run that stopped before its first checkpoint starts
    it over (False) and removes its history.csv, or the new run's epoch 1 would follow the dead run's rows."""
    from dsan_tf import runner
    from dsan_tf.outputs import write_marker

    out = tmp_path / "run"
    out.mkdir()
    write_marker(out, "run", "train")
    (out / "config.json").write_text(json.dumps({"settings": {"epochs": 2, "resume": False}}))
    (out / "history.csv").write_text("epoch,loss\n0,1.5\n")
    with caplog.at_level("WARNING", logger=runner.log.name):
        assert runner.start_or_resume(out, {"epochs": 2, "resume": True}) is False
    assert "starting it over" in caplog.text
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["config.json"]


# ---- round 6 blind mutants (issue 34)


def test_the_cpu_long_preset_is_the_recipe_of_its_recorded_48px_run(run_cli, tmp_path):
    """r6-presets-cpu-long-epochs: MODEL_CARD.md's first recipe step is `--preset cpu-long` alone: the cpu
    preset at 48 px for 30 epochs without a time budget. The preset must still give what the committed run of
    that recipe (experiments/results/issue33-base48-e30-s0, the baseline variant) recorded."""
    from pathlib import Path

    config = Path(__file__).resolve().parents[1] / "experiments" / "results" / "issue33-base48-e30-s0" / "config.json"
    recorded = json.loads(config.read_text(encoding="utf-8"))["settings"]
    settings = run_cli.build_settings(run_cli.parse_args(["--dataset", "ferplus", "--data-dir", str(tmp_path),
                                                          "--preset", "cpu-long", "--variant", "baseline"]))
    assert (settings["image_size"], settings["epochs"], settings["time_budget_minutes"]) == (48, 30, None)
    keys = ("image_size", "epochs", "time_budget_minutes", "batch_size", "learning_rate", "schedule",
            "warmup_epochs", "label_mode", "rotation", "random_crop", "horizontal_flip", "preset")
    assert {k: settings[k] for k in keys} == {k: recorded[k] for k in keys}


def test_auto_precision_counts_a_compute_capability_7_0_gpu_as_float16(monkeypatch):
    """r6-precision-compute-capability-7-excluded: float16 tensor cores start at compute capability 7.0 (V100);
    a 7.0 and an 8.6 GPU are float16 GPUs, a 6.1 one is not, and 'auto' picks mixed_float16 with the first two
    (the devices are stand-ins: no GPU is needed)."""
    import tensorflow as tf

    from dsan_tf.precision import float16_gpus, resolve_precision

    capability = {"GPU:0": (7, 0), "GPU:1": (6, 1), "GPU:2": (8, 6)}
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: [type("Device", (), {"name": n})() for n in capability])
    monkeypatch.setattr(tf.config.experimental, "get_device_details",
                        lambda gpu: {"compute_capability": capability[gpu.name], "device_name": f"card {gpu.name}"})
    assert float16_gpus() == ["card GPU:0", "card GPU:2"]
    assert resolve_precision("auto", flags=set())[0] == "mixed_float16"

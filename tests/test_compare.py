"""dsan compare: evaluated runs side by side (table of scores, figure of curves)."""

import json

import pytest
from script_loader import refused

from dsan_tf.cli import run_command

CLASSES = ["neutral", "happiness", "contempt"]


def compare(argv):
    try:
        return run_command("compare", [str(a) for a in argv])
    except SystemExit as exit_:
        return exit_.code


def write_run(folder, variant, accuracy, per_class, epochs=3, history=True, val=False):
    folder.mkdir(parents=True)
    metrics = {"split": "valid", "count": 100, "accuracy": accuracy,
               "mean_class_accuracy": sum(per_class) / len(per_class),
               "per_class_accuracy": dict(zip(CLASSES, per_class)), "training": {"epochs_completed": epochs}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "config.json").write_text(json.dumps({"settings": {"variant": variant, "image_size": 48, "epochs": 30}}))
    if history:
        rows = ["epoch,accuracy,ce_loss,loss" + (",val_accuracy" if val else "")]
        rows += [f"{e},{0.5 + 0.1 * e},{1.5 - 0.2 * e},{2.0 - 0.2 * e}" + (f",{0.4 + 0.1 * e}" if val else "")
                 for e in range(epochs)]
        (folder / "history.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_the_table_has_each_runs_scores_per_class(tmp_path, capsys):
    dsan = write_run(tmp_path / "dsan", "dsan", 0.84017, [0.866, 0.935, 0.0625])
    base = write_run(tmp_path / "base", "baseline", 0.85, [0.9, 0.95, 0.125], epochs=2, history=False)
    assert compare([dsan, base, "--labels", "DSAN", "ResNet-18"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("| run | variant | input | epochs | train acc. | split (images) | accuracy | mean class "
                        "| neutral | happiness | contempt |")
    # train acc.: history.csv's last row, 0.5 + 0.1 * 2 for epochs 0..2; the baseline has no history
    assert lines[2] == "| DSAN | dsan | 48 px | 3 | 70.00 % | valid (100) | 84.02 % | 62.12 % | 86.6 | 93.5 | 6.2 |"
    assert lines[3] == "| ResNet-18 | baseline | 48 px | 2 | — | valid (100) | 85.00 % | 65.83 % | 90.0 | 95.0 | 12.5 |"
    assert len(lines) == 4


def test_a_class_absent_from_the_split_is_a_dash_not_an_error(tmp_path, capsys):
    run = write_run(tmp_path / "run", "dsan", 0.8, [0.8, 0.9, 0.1])
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["per_class_accuracy"]["contempt"] = None  # what dsan train writes for a class with no images
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert compare([run, "--output", tmp_path / "figure.png"]) == 0
    assert capsys.readouterr().out.splitlines()[2].endswith("| 80.0 | 90.0 | — |")


def test_the_figure_is_written_and_names_runs_without_curves(tmp_path, capsys):
    from PIL import Image

    dsan = write_run(tmp_path / "dsan", "dsan", 0.8, [0.8, 0.9, 0.1], val=True)
    base = write_run(tmp_path / "base", "baseline", 0.8, [0.8, 0.9, 0.1], history=False)
    figure = tmp_path / "out" / "comparison.png"
    assert compare([dsan, base, "--output", figure]) == 0
    assert Image.open(figure).format == "PNG"
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {figure} (no history.csv, so no curves, for: base)"
    # an existing figure, its own included, is replaced only with --overwrite
    refused(compare, [dsan, "--output", figure], r"--output .*exists.*--overwrite")
    assert compare([dsan, "--output", figure, "--overwrite"]) == 0


def test_runs_of_other_classes_are_refused_by_name(tmp_path):
    a = write_run(tmp_path / "a", "dsan", 0.8, [0.8, 0.9, 0.1])
    b = write_run(tmp_path / "b", "dsan", 0.8, [0.8, 0.9, 0.1])
    metrics = json.loads((b / "metrics.json").read_text())
    metrics["per_class_accuracy"] = {"cat": 0.5, "dog": 0.5, "contempt": 0.1}
    (b / "metrics.json").write_text(json.dumps(metrics))
    refused(compare, [a, b], rf"{b}: scored on classes \['cat', 'dog', 'contempt'\].*only runs of the same classes")


@pytest.mark.parametrize("damage, match", [
    (lambda run: [(run / name).unlink() for name in ("metrics.json", "history.csv")],
     r"metrics.json: missing, and no history.csv beside it: nothing to compare"),
    (lambda run: (run / "metrics.json").write_text('{"accuracy": 0.5'), r"metrics.json \(a run's metrics\): not valid JSON \(truncated\?\)"),
    (lambda run: (run / "metrics.json").write_text('{"accuracy": 0.5}'), r"metrics.json \(a run's metrics\): missing key mean_class_accuracy"),
    (lambda run: (run / "metrics.json").write_text(
        '{"accuracy": "high", "mean_class_accuracy": 0.5, "per_class_accuracy": {}}'), r"metrics.json .*expected a finite number at accuracy, found a string"),
    (lambda run: (run / "metrics.json").write_text(
        '{"accuracy": 0.5, "mean_class_accuracy": 0.5, "per_class_accuracy": [0.5]}'), r"metrics.json .*expected an object at per_class_accuracy, found an array"),
    (lambda run: (run / "history.csv").write_text("step,loss\n1,2\n"), r"history.csv \(a run's training history\): missing column\(s\) epoch"),
    (lambda run: (run / "history.csv").write_bytes(b"\xff\xfe\x00"), r"history.csv \(a run's training history\): not UTF-8 text"),
    (lambda run: (run / "history.csv").write_text("epoch,accuracy\n0,high\n"), r"history.csv \(a run's training history\): row 2, column accuracy: 'high' is not a number"),
])
def test_a_damaged_run_is_named(damage, match, tmp_path):
    run = write_run(tmp_path / "run", "dsan", 0.8, [0.8, 0.9, 0.1])
    damage(run)
    refused(compare, [run], match)


def test_labels_must_name_every_run_and_the_figure_is_a_png(tmp_path):
    run = write_run(tmp_path / "run", "dsan", 0.8, [0.8, 0.9, 0.1])
    before = (run / "history.csv").read_bytes()
    refused(compare, [run, run, "--labels", "one"], r"--labels: 1 names for 2 runs")
    refused(compare, [run, "--output", run / "history.csv", "--overwrite"], r"--output.*expected a .png file name")
    assert (run / "history.csv").read_bytes() == before


# ---- runs not evaluated yet, and --epochs (issue 33: component runs stopped after their first epochs)

def test_a_run_not_evaluated_yet_is_compared_by_its_history(tmp_path, capsys):
    done = write_run(tmp_path / "done", "dsan", 0.8, [0.8, 0.9, 0.1], epochs=4)
    running = write_run(tmp_path / "running", "baseline", 0.8, [0.8, 0.9, 0.1], epochs=2)
    (running / "metrics.json").unlink()
    figure = tmp_path / "figure.png"
    assert compare([done, running, "--output", figure]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "| done | dsan | 48 px | 4 | 80.00 % | valid (100) | 80.00 % | 60.00 % | 80.0 | 90.0 | 10.0 |"
    # two history rows (accuracy 0.5, 0.6), no scores
    assert lines[3] == "| running | baseline | 48 px | 2 (not evaluated) | 60.00 % | — | — | — | — | — | — |"
    assert figure.stat().st_size > 0


def test_epochs_cuts_every_run_to_its_first_epochs(tmp_path, capsys):
    long = write_run(tmp_path / "long", "dsan", 0.8, [0.8, 0.9, 0.1], epochs=5)
    short = write_run(tmp_path / "short", "dsan", 0.8, [0.8, 0.9, 0.1], epochs=3)
    (short / "metrics.json").unlink()
    assert compare([long, short, "--epochs", "2", "--output", tmp_path / "first2.png"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| run | variant | input | epochs | train acc. (epoch 2) | split (images) |")
    # epoch 2 is history row 1: 0.5 + 0.1 * 1; the evaluated run still shows its own length and scores
    assert lines[2].startswith("| long | dsan | 48 px | 5 | 60.00 % | valid (100) | 80.00 % |")
    assert lines[3].startswith("| short | dsan | 48 px | 2 (not evaluated) | 60.00 % | — |")
    # longer than every run: all of each, and each cell says which epoch it is (the header says 9)
    assert compare([long, short, "--epochs", "9"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert "| 90.00 % (epoch 5) |" in rows[2] and "| 3 (not evaluated) | 70.00 % (epoch 3) |" in rows[3]
    # exactly as long as the cut: no note
    assert compare([long, "--epochs", "5"]) == 0
    assert "| 5 | 90.00 % | valid (100)" in capsys.readouterr().out


def test_only_runs_not_evaluated_draw_curves_and_no_bars(tmp_path, capsys):
    from PIL import Image

    run = write_run(tmp_path / "run", "dsan", 0.8, [0.8, 0.9, 0.1], epochs=3)
    (run / "metrics.json").unlink()
    figure = tmp_path / "curves.png"
    assert compare([run, "--output", figure]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "| run | variant | input | epochs | train acc. | split (images) | accuracy | mean class |"
    assert out[-1] == f"wrote {figure}"
    assert Image.open(figure).format == "PNG"


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_epochs_must_be_a_positive_count(value, tmp_path):
    run = write_run(tmp_path / "run", "dsan", 0.8, [0.8, 0.9, 0.1])
    refused(compare, [run, "--epochs", value], r"--epochs")


def test_a_diverged_last_epoch_prints_a_dash_not_nan(tmp_path, capsys):
    run = write_run(tmp_path / "run", "dsan", 0.8, [0.8, 0.9, 0.1], epochs=2)
    (run / "history.csv").write_text("epoch,accuracy,ce_loss,loss\n0,0.5,1.5,2.0\n1,nan,nan,nan\n")
    assert compare([run]) == 0
    row = capsys.readouterr().out.splitlines()[2]
    assert row.startswith("| run | dsan | 48 px | 2 | — | valid (100) |") and "nan" not in row.lower()


# ---- round 8 blind mutants (issue 34)
def test_a_run_with_a_class_scored_100_percent_is_compared_not_refused(tmp_path, capsys):
    """r8-compare-perfect-accuracy-refused: an accuracy is in [0, 1], both ends included: a run whose
    happiness faces are all right (1.0) and whose contempt faces are all wrong (0.0) is a run, not damage
    (by hand: mean class (0.5 + 1 + 0) / 3 = 50.00 %)."""
    run = write_run(tmp_path / "run", "dsan", 0.75, [0.5, 1.0, 0.0], history=False)
    assert compare([run]) == 0
    assert capsys.readouterr().out.splitlines()[2] == \
        "| run | dsan | 48 px | 3 | — | valid (100) | 75.00 % | 50.00 % | 50.0 | 100.0 | 0.0 |"

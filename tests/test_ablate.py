"""experiments/ablate.py: finished grid points are read back and summarised as mean ± std over seeds."""

import json

import pytest
from script_loader import load_script


@pytest.fixture(scope="module")
def ablate():
    return load_script("ablate")


def write_point(directory, accuracy, mean_class, flags=(), *extra):
    """A finished point as dsan train leaves it: metrics.json and the config.json of its flags (``extra``:
    flags that make it another configuration than the grid's point)."""
    from dsan_tf.cli.run import build_settings, parse_args
    from dsan_tf.runner import with_centre_sgd_defaults

    directory.mkdir(parents=True)
    seed = directory.name.rsplit("seed", 1)[1]
    argv = ["--dataset", "ferplus", *flags, *extra, "--seed", seed, "--output", str(directory), "--verbose", "2"]
    settings = {**with_centre_sgd_defaults(build_settings(parse_args(argv))), "precision": "float32"}
    (directory / "config.json").write_text(json.dumps({"settings": settings, "versions": {}}))
    metrics = {"accuracy": accuracy, "mean_class_accuracy": mean_class, "split": "valid"}
    (directory / "metrics.json").write_text(json.dumps(metrics))


def test_point_names_are_filesystem_safe(ablate):
    assert ablate.point_name("alpha=0.4 (DSAN)", 0) == "alpha-0.4_DSAN-seed0"
    assert ablate.point_name("HFE1+SA", 2) == "HFE1_SA-seed2"


def test_variant_grid_reads_finished_points_and_reports_mean_and_std(ablate, tmp_path, capsys):
    # Points trained elsewhere (e.g. one per core) are only read back: nothing is trained here.
    write_point(tmp_path / "baseline-seed0", 0.80, 0.50, ["--variant", "baseline"])
    write_point(tmp_path / "baseline-seed1", 0.82, 0.54, ["--variant", "baseline"])
    write_point(tmp_path / "DSAN-seed0", 0.79, 0.51, ["--variant", "dsan"])
    write_point(tmp_path / "DSAN-seed1", 0.83, 0.55, ["--variant", "dsan"])
    ablate.main(["--grid", "variant", "--dataset", "ferplus", "--seeds", "0", "1", "--output", str(tmp_path)])

    table = capsys.readouterr().out
    assert "| baseline | `--variant baseline` | 0 1 | 81.00 ± 1.41 | 52.00 ± 2.83 | 87.68 |" in table
    assert "| DSAN | `--variant dsan` | 0 1 | 81.00 ± 2.83 | 53.00 ± 2.83 | 89.70 |" in table
    saved = json.loads((tmp_path / "ablation.json").read_text())
    assert [row["accuracy"] for row in saved["rows"]] == [pytest.approx([80.0, 82.0]), pytest.approx([79.0, 83.0])]


def test_one_seed_has_no_std(ablate):
    row = ablate.summarise("DSAN", [], 89.70, [0], [{"accuracy": 0.8, "mean_class_accuracy": 0.5, "split": "valid"}])
    assert row["accuracy_std"] is None and row["mean_class_accuracy_std"] is None
    assert "| 80.00 | 50.00 |" in ablate.format_table([row])


def grid(tmp_path):
    return ["--grid", "variant", "--dataset", "ferplus", "--seeds", "0", "--output", str(tmp_path)]


@pytest.mark.parametrize("other", [["--epochs", "7"], ["--variant", "dsan"]])
def test_a_point_folder_holding_another_configurations_result_is_refused(ablate, tmp_path, capsys, other):
    """Issue 31: a 2-epoch DSAN left in baseline-seed0 was reported as the baseline row."""
    write_point(tmp_path / "baseline-seed0", 0.80, 0.50, ["--variant", "baseline"], *other)
    write_point(tmp_path / "DSAN-seed0", 0.79, 0.51, ["--variant", "dsan"])
    from dsan_tf.cli import main

    assert main(["ablate", *grid(tmp_path)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "baseline-seed0" in err[0] and "another configuration" in err[0], err
    assert other[0].lstrip("-") in err[0]
    assert not (tmp_path / "ablation.json").exists()


@pytest.mark.parametrize("damage, says", [
    ('{"accuracy": 0.8, "mean_clas', "not valid JSON"),
    ('{"accuracy": "0.8", "mean_class_accuracy": 0.5, "split": "valid"}', "finite number"),
    ('{"accuracy": 0.8, "split": "valid"}', "missing key mean_class_accuracy"),
    ('{"accuracy": 7.0, "mean_class_accuracy": 0.5, "split": "valid"}', "not in [0, 1]"),
    ("\x00\xff\xfe garbage", "not UTF-8"),
])
def test_a_damaged_point_metrics_is_one_line_naming_it(ablate, tmp_path, capsys, damage, says):
    write_point(tmp_path / "baseline-seed0", 0.80, 0.50, ["--variant", "baseline"])
    write_point(tmp_path / "DSAN-seed0", 0.79, 0.51, ["--variant", "dsan"])
    (tmp_path / "baseline-seed0" / "metrics.json").write_bytes(damage.encode("latin-1"))
    from dsan_tf.cli import main

    assert main(["ablate", *grid(tmp_path)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "baseline-seed0" in err[0] and "metrics.json" in err[0] and says in err[0], err

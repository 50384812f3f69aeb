"""experiments/ablate.py: finished grid points are read back and summarised as mean ± std over seeds."""

import json

import pytest
from script_loader import load_script


@pytest.fixture(scope="module")
def ablate():
    return load_script("ablate")


def write_point(directory, accuracy, mean_class):
    directory.mkdir(parents=True)
    metrics = {"accuracy": accuracy, "mean_class_accuracy": mean_class, "split": "valid"}
    (directory / "metrics.json").write_text(json.dumps(metrics))


def test_point_names_are_filesystem_safe(ablate):
    assert ablate.point_name("alpha=0.4 (DSAN)", 0) == "alpha-0.4_DSAN-seed0"
    assert ablate.point_name("HFE1+SA", 2) == "HFE1_SA-seed2"


def test_variant_grid_reads_finished_points_and_reports_mean_and_std(ablate, tmp_path, capsys):
    # Points trained elsewhere (e.g. one per core) are only read back: nothing is trained here.
    write_point(tmp_path / "baseline-seed0", 0.80, 0.50)
    write_point(tmp_path / "baseline-seed1", 0.82, 0.54)
    write_point(tmp_path / "DSAN-seed0", 0.79, 0.51)
    write_point(tmp_path / "DSAN-seed1", 0.83, 0.55)
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

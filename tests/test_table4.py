"""experiments/table4.py: runs' subset accuracies beside the paper's Table 4, per dataset."""

import json

import pytest
from script_loader import load_script, refused


@pytest.fixture(scope="module")
def table4():
    return load_script("table4")


def write_run(directory, dataset, split, subsets):
    directory.mkdir(parents=True)
    metrics = {"dataset": dataset, "split": split, "accuracy": 0.5,
               "subsets": {name: {"count": n, "accuracy": acc} for name, (n, acc) in subsets.items()}}
    (directory / "metrics.json").write_text(json.dumps(metrics))
    return directory


def test_columns_are_found_by_subset_name(table4):
    assert [table4.column_of(n) for n in ("occlusion", "Pose_30", "pose-45", "pose>30", "occ")] == \
        ["occlusion", "pose30", "pose45", "pose30", None]


def test_prints_each_dataset_of_the_runs_beside_the_paper(table4, tmp_path, capsys):
    affectnet = write_run(tmp_path / "aff", "affectnet7", "valid",
                          {"pose_30": (1700, 0.6), "mine": (10, 0.5)})
    rafdb = write_run(tmp_path / "raf", "rafdb", "test",
                      {"occlusion": (734, 0.8512), "pose30": (1247, 0.8901), "pose45": (558, 0.88)})
    table4.main([str(affectnet), str(rafdb)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == (f"| (a) RAF-DB | this run: {rafdb} (rafdb, test split) | 85.12 (734 of 734) "
                        "| 89.01 (1247 of 1247) | 88.00 (558 of 558) |")
    assert lines[3] == "| | paper: DSAN | 85.31 | 89.57 | 89.43 |"
    assert lines[5] == (f"| (c) AffectNet | this run: {affectnet} (affectnet7, valid split) | — "
                        "| 60.00 (1700 of 1944) | — |")
    assert lines[6] == "| | paper: DSAN | 62.66 | 60.80 | 61.32 |"
    assert "FERPlus" not in "\n".join(lines)
    assert lines[-1] == f"{affectnet}: subset 'mine' is not a Table 4 column: 50.00 (10)"


def test_a_run_without_subsets_is_an_error(table4, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"dataset": "ferplus", "split": "test"}))
    refused(table4.main, [str(run)], "has no subsets: evaluate with --subset")
    refused(table4.main, [str(tmp_path / "missing")], "missing: no such file or folder")


# ---- round 4 blind mutants (issue 34)


def test_an_affectnet8_run_goes_to_the_affectnet_block(table4, tmp_path, capsys):
    """r4-table4-affectnet8-own-block: the paper does not say AffectNet-7 or -8, so an affectnet8 run is in block
    (c) with RAN's AffectNet list sizes (683, 1944, 983) and the paper's AffectNet rows."""
    run = write_run(tmp_path / "aff8", "affectnet8", "valid", {"occlusion": (600, 0.5), "pose45": (900, 0.25)})
    table4.main([str(run)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == (f"| (c) AffectNet | this run: {run} (affectnet8, valid split) | 50.00 (600 of 683) "
                        "| — | 25.00 (900 of 983) |")
    assert lines[3] == "| | paper: DSAN | 62.66 | 60.80 | 61.32 |"
    assert lines[4] == "| | paper: ResNet-18 | 49.48 | 50.10 | 48.50 |"

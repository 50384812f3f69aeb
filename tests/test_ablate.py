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


# ---- round 6 blind mutants (issue 34)


def test_an_unmarked_folder_is_an_old_grid_only_with_point_folders_and_nothing_else(ablate, tmp_path):
    """r6-ablate-any-folder-with-a-point-taken-over: an unmarked folder is taken for the variant grid (seed 0)
    written before markers existed only when it holds one of its point folders and nothing but those and
    ablation.json: a point folder beside a file of the user's, or ablation.json alone, is not."""
    accept = ablate.grid_folder_of_an_earlier_version("variant", [0])
    cases = {("baseline-seed0", "ablation.json"): True, ("baseline-seed0", "DSAN-seed0"): True,
             ("baseline-seed0", "notes.txt"): False, ("ablation.json",): False, ("notes.txt",): False}
    for number, (names, expected) in enumerate(cases.items()):
        folder = tmp_path / str(number)
        folder.mkdir()
        for name in names:
            if name.endswith("seed0"):
                (folder / name).mkdir()
            else:
                (folder / name).write_text("x")
        assert accept(folder) is expected, names


def test_a_point_with_a_config_but_no_metrics_is_resumed(ablate, tmp_path, monkeypatch):
    """r6-ablate-unfinished-point-not-resumed: a point folder holding config.json (training started, interrupted
    before metrics.json) is continued with --resume; a new point folder is trained from the start. The training
    itself is a stand-in that records the settings it was given."""
    import dsan_tf.runner

    given = []
    monkeypatch.setattr(dsan_tf.runner, "train_and_evaluate", lambda settings: given.append(settings) or {})
    started = tmp_path / "baseline-seed0"
    started.mkdir()
    (started / "config.json").write_text("{}")  # what an interrupted dsan train leaves (with its checkpoints)
    ablate.run_point(["--dataset", "ferplus"], ["--variant", "baseline"], 0, started)
    ablate.run_point(["--dataset", "ferplus"], ["--variant", "baseline"], 0, tmp_path / "DSAN-seed0")
    assert [settings["resume"] for settings in given] == [True, False]
    assert [settings["output"] for settings in given] == [str(started), str(tmp_path / "DSAN-seed0")]

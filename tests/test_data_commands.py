"""The data commands: data_summary (text/JSON) and the pipeline benchmark."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from script_loader import load_script

ROOT = Path(__file__).resolve().parent.parent

def test_data_summary_json_on_the_embedded_sample():
    out = subprocess.run([sys.executable, str(ROOT / "experiments" / "data_summary.py"),
                          "--dataset", "ferplus", "--json"],
                         capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout) == {
        "train": {"count": 288, "class_counts": [36] * 8},
        "valid": {"count": 96, "class_counts": [12] * 8}}


def test_data_summary_text_mode_and_errors(capsys, tmp_path):
    summary = load_script("data_summary")
    assert summary.main(["--dataset", "ferplus"]) == 0
    out, err = capsys.readouterr()
    assert "contempt" in out and "288" in out and "96" in out
    assert "embedded FERPlus sample" in err and "no 'test' split" in err
    with pytest.raises(SystemExit) as stop:  # refused by --data-dir's validator, before the reader runs
        summary.main(["--dataset", "rafdb", "--data-dir", str(tmp_path / "none")])
    assert stop.value.code == 2 and "argument --data-dir: " in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert summary.main(["--dataset", "rafdb", "--data-dir", str(tmp_path / "empty")]) == 2
    assert "RAF-DB" in capsys.readouterr().err


def test_embedded_sample_is_small_and_has_every_class():
    from dsan_tf.data import SAMPLE_FERPLUS_DIR, load_dataset

    files = [p for p in SAMPLE_FERPLUS_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 2_000_000
    assert (SAMPLE_FERPLUS_DIR / "README.md").is_file()
    data = load_dataset("ferplus", SAMPLE_FERPLUS_DIR, check_images="decode")
    for split in ("train", "valid"):
        assert min(data.class_counts(split)) > 0
    assert len(load_dataset("ferplus", None, "probability").table) > 0


def test_bench_pipeline_runs_small():
    bench = load_script("bench_pipeline")
    result = bench.measure(bench.parse_args(["--image-size", "32", "--batch-size", "8", "--steps", "3",
                                             "--skip-step", "--json"]))
    assert result["pipeline_images_per_s"] > 0 and result["images"] == 288


@pytest.mark.skipif(not os.environ.get("DSAN_SLOW_TESTS"),
                    reason="builds and traces DSAN (tens of seconds); set DSAN_SLOW_TESTS=1")
def test_bench_training_step_throughput_small():
    bench = load_script("bench_pipeline")
    assert bench._train_step_throughput(32, 2, 1, "float32") > 0

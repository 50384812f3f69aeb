"""experiments/bench.py --against-torch: TF and PyTorch DSAN training steps timed side by side (tiny setting)."""

import importlib.util
import json

import pytest
from script_loader import ROOT, load_script

REFERENCE = ROOT / ".." / "shared" / "bench" / "torch_dsan.py"

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")
needs_reference = pytest.mark.skipif(not REFERENCE.is_file(), reason=f"no PyTorch reference at {REFERENCE}")


@needs_torch
@needs_reference
def test_against_torch_prints_both_throughputs_and_the_ratio(capsys):
    bench = load_script("bench")
    argv = ["--against-torch", "--image-size", "32", "--batch-size", "2", "--steps", "1", "--warmup", "1",
            "--rounds", "1", "--threads", "1"]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    assert "CPU: " in out and "TF/PyTorch" in out
    lines = [line.split() for line in out.splitlines()]
    rows = {row[3]: float(row[4]) for row in lines if len(row) > 4 and row[:2] == ["float32", "32"]}
    assert rows["tf"] > 0 and rows["torch"] > 0

    assert bench.main(argv + ["--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cpu"]["model"]
    (result,) = summary["results"]
    assert (result["precision"], result["image_size"]) == ("float32", 32)
    assert result["tf"]["images_per_s"] > 0 and result["torch"]["images_per_s"] > 0
    assert result["ratio_tf_over_torch"] == pytest.approx(result["tf"]["images_per_s"] / result["torch"]["images_per_s"])
    assert summary["ratio_tf_over_torch_float32_32"] == result["ratio_tf_over_torch"]


def test_against_torch_missing_reference_is_one_line_error(tmp_path, capsys):
    bench = load_script("bench")
    missing = tmp_path / "nope.py"
    assert bench.main(["--against-torch", "--torch-reference", str(missing), "--image-size", "32"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert str(missing) in err or "PyTorch" in err


def test_several_image_sizes_only_against_torch():
    bench = load_script("bench")
    assert bench.parse_args(["--against-torch", "--image-size", "64,112"]).image_sizes == (64, 112)
    with pytest.raises(SystemExit):
        bench.parse_args(["--image-size", "64,112"])

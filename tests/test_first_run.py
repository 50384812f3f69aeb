"""A new user's first minute, in fresh interpreters: `dsan predict` with no input runs the shipped model on
the demo photo and says so in one stderr line; the Python API prints nothing on stderr for a photo with
a face, a photo without one (where MTCNN's empty ONet batch used to make TensorFlow log
"local_rendezvous.cc ... Incompatible shapes") and the demo photo."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dsan_tf.demo import demo_photo
from dsan_tf.face_record import FIELDS

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos"
# The user's own environment: none of the switches that would hide or show TensorFlow's lines.
ENV = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "DSAN_VERBOSE", "DSAN_DEBUG")}
ENV["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


def test_dsan_predict_without_input_runs_on_the_demo_photo_in_one_stderr_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dsan_tf", "predict"], capture_output=True, text=True,
                            env=ENV, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("dsan predict: ") and "'ferplus'" in line and line.endswith(str(demo_photo()))
    (row,) = map(json.loads, result.stdout.splitlines())  # the astronaut: one face
    assert list(row)[:4] == list(FIELDS) and row["source"] == str(demo_photo())
    # Eileen Collins' face in the 512 x 512 photo: centred near (223, 118), about 85 x 107 px; she smiles.
    x, y, w, h = row["box"]
    assert 200 < x + w / 2 < 245 and 95 < y + h / 2 < 140 and 60 < w < 110 and 80 < h < 135
    assert row["label"] == "happiness"
    assert list(tmp_path.iterdir()) == []  # nothing written where the user stands


@pytest.mark.skipif(not (PHOTOS / "no-faces.jpg").is_file(), reason=f"shared photos not found at {PHOTOS}")
def test_the_python_api_is_silent_on_a_face_no_face_and_the_demo_photo(tmp_path):
    code = textwrap.dedent(f"""
        import dsan_tf
        from dsan_tf.demo import demo_photo
        for photo in ({str(PHOTOS / "ivan.jpg")!r}, {str(PHOTOS / "no-faces.jpg")!r}, demo_photo()):
            print(len(dsan_tf.predict(photo)))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, cwd=tmp_path,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0", "1"]
    assert result.stderr == ""

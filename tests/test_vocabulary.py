"""One vocabulary for a face (dsan_tf.face_record): the Python API, `dsan predict` (JSON lines and CSV)
and `dsan client --json` answer with the same fields, of the same types, for the same photo.

A tiny untrained DSAN and an MTCNN stand-in that finds two faces of different sizes at fractional
coordinates (one running off the photo's right edge) in a non-square photo: the expected integer
boxes below are worked out by hand from those coordinates (round each corner, clip to the photo).
"""

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from dsan_tf.face_record import FIELDS, FaceRecord, csv_columns

CLASSES = ["neutral", "happiness", "surprise"]
SIZE = 32
HEIGHT, WIDTH = 120, 150
# xyxy corners as MTCNN gives them; the second runs past the right edge (x2 = 155.3 > 150).
CORNERS = [(10.4, 12.6, 70.7, 90.2), (90.6, 20.49, 155.3, 70.8)]
# round(10.4)=10, round(12.6)=13, round(70.7)-10=61, round(90.2)-13=77;
# round(90.6)=91, round(20.49)=20, min(round(155.3), 150)-91=59, round(70.8)-20=51. Largest first.
EXPECTED_BOXES = [[10, 13, 61, 77], [91, 20, 59, 51]]


class TwoFaces:
    """mtcnn.MTCNN stand-in: the two faces of CORNERS in a WIDTH-wide photo, none in narrower ones."""

    def __init__(self, *args, **kwargs):
        pass

    def detect_faces(self, image, **kwargs):
        if image.shape[1] != WIDTH:
            return np.zeros((0, 16))
        rows = []
        for x1, y1, x2, y2 in CORNERS:
            w, h = x2 - x1, y2 - y1
            marks_x = [x1 + 0.3 * w, x1 + 0.7 * w, x1 + 0.5 * w, x1 + 0.35 * w, x1 + 0.65 * w]
            marks_y = [y1 + 0.4 * h, y1 + 0.4 * h, y1 + 0.55 * h, y1 + 0.75 * h, y1 + 0.75 * h]
            rows.append([0, x1, y1, x2, y2, 0.99, *marks_x, *marks_y])
        return np.array(rows)


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    """A tiny colour DSAN saved as .keras, its settings record, a two-face photo and a photo without a face."""
    import keras

    from dsan_tf.model import build_dsan

    folder = tmp_path_factory.mktemp("vocabulary")
    keras.utils.set_random_seed(7)
    model = build_dsan(len(CLASSES), SIZE, "dsan", class_names=CLASSES, dtype="float32")
    model.save(folder / "tiny.keras")
    (folder / "dsan_settings.json").write_text(json.dumps({"image_size": SIZE, "grayscale_input": False}))
    rng = np.random.default_rng(11)
    photo, empty = folder / "two faces.png", folder / "empty.png"
    Image.fromarray(rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)).save(photo)
    Image.fromarray(rng.integers(0, 256, (HEIGHT, 100, 3), dtype=np.uint8)).save(empty)
    return {"model": folder / "tiny.keras", "settings": folder / "dsan_settings.json", "photo": photo, "empty": empty}


@pytest.fixture(autouse=True)
def two_faces(monkeypatch):
    import mtcnn

    monkeypatch.setattr(mtcnn, "MTCNN", TwoFaces)


def check_face(record, source, box):
    """The four fields first, in order, with their types; the label is the most probable class."""
    assert list(record)[:4] == list(FIELDS)
    assert record["source"] == str(source)
    assert record["box"] == box and all(type(v) is int for v in record["box"])
    probabilities = record["probabilities"]
    assert list(probabilities) == CLASSES and all(isinstance(p, float) for p in probabilities.values())
    assert abs(sum(probabilities.values()) - 1) < 1e-4
    assert record["label"] == max(probabilities, key=probabilities.get)


def check_no_face(record, source):
    assert list(record)[:4] == list(FIELDS)
    assert record["source"] == str(source) and record["box"] is None
    assert record["label"] is None and record["probabilities"] is None


def api_faces(setting):
    from dsan_tf.api import FaceExpressionRecognizer

    recognizer = FaceExpressionRecognizer(str(setting["model"]))
    return recognizer.predict(str(setting["photo"])), recognizer.predict(str(setting["empty"]))


def predict_rows(setting, capsys, *flags):
    from dsan_tf.cli import run_command

    status = run_command("predict", [str(setting["photo"]), str(setting["empty"]), "--weights",
                                     str(setting["model"]), "--no-progress", *flags])
    out = capsys.readouterr()
    assert status == 0, out.err
    return out.out


def test_the_record_refuses_float_boxes_and_keeps_extras_after_the_four_fields():
    with pytest.raises(TypeError, match="4 integers"):
        FaceRecord("a.jpg", (1.5, 2, 3, 4), "neutral", {"neutral": 1.0})
    record = FaceRecord.classified("a.jpg", [1, 2, 3, 4], [0.2, 0.5, 0.3], CLASSES).to_record(face=0)
    assert list(record) == [*FIELDS, "face"] and record["label"] == "happiness" and record["box"] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="redefine"):
        FaceRecord(None, None, None, None).to_record(label="x")


def test_api_predict_json_predict_csv_and_client_json_speak_the_same_vocabulary(setting, capsys):
    from dsan_tf.cli.client import json_line, photo_faces
    from dsan_tf.cli.client import build_parser as client_parser

    photo, empty = setting["photo"], setting["empty"]
    api, api_empty = api_faces(setting)
    assert api_empty == []
    for face, box in zip(api, EXPECTED_BOXES, strict=True):
        check_face(face, photo, box)

    rows = [json.loads(line) for line in predict_rows(setting, capsys).splitlines()]
    assert [r["face"] for r in rows] == [0, 1, None]
    for row, box, face in zip(rows, EXPECTED_BOXES, api):
        check_face(row, photo, box)
        assert row["label"] == face["label"]
        np.testing.assert_allclose(list(row["probabilities"].values()), list(face["probabilities"].values()),
                                   atol=1e-5)
    check_no_face(rows[2], empty)

    table = list(csv.DictReader(io.StringIO(predict_rows(setting, capsys, "--format", "csv"))))
    header = list(table[0])
    assert [c for c in header if c in csv_columns(CLASSES)] == csv_columns(CLASSES)
    for row, want in zip(table, rows):
        assert row["source"] == want["source"] and row["label"] == (want["label"] or "")
        box = [row[c] for c in ("box_x", "box_y", "box_w", "box_h")]
        assert box == ([str(v) for v in want["box"]] if want["box"] else ["", "", "", ""])  # "10", never "10.0"
        if want["probabilities"]:
            assert [float(row[f"p_{n}"]) for n in CLASSES] == list(want["probabilities"].values())

    # dsan client finds and aligns the faces itself; the served model's answer is stood in for by the API's.
    args = client_parser().parse_args(["--rest", "http://localhost:1", "--settings", str(setting["settings"]),
                                       "--json", str(photo)])
    (found,) = photo_faces(args, [photo], [photo.read_bytes()])
    assert [face for face, _ in found] == [{"face": i, "box": box} for i, box in enumerate(EXPECTED_BOXES)]
    for (face, _), want in zip(found, api):
        probabilities = list(want["probabilities"].values())
        served = {"probabilities": probabilities, "class_id": CLASSES.index(want["label"]),
                  "class_name": want["label"], "gfe_probabilities": probabilities, "mff_probabilities": probabilities}
        record = json.loads(json_line(photo, served, face, labels=CLASSES))
        check_face(record, photo, face["box"])
        assert record["probabilities"] == want["probabilities"] and record["gfe_probabilities"] == want["probabilities"]


# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


def test_the_label_of_tied_probabilities_is_the_first_as_numpys_argmax():
    """face-record-last-of-equal-maxima: a record's label and the export's class_id (np.argmax) agree on ties."""
    from dsan_tf.face_record import FaceRecord

    names = ["neutral", "happiness", "surprise", "sadness"]
    for p in ([0.4, 0.1, 0.4, 0.1], [0.25, 0.25, 0.25, 0.25], [0.1, 0.45, 0.0, 0.45]):
        assert FaceRecord.classified(None, None, p, names).label == names[int(np.argmax(p))]
    assert FaceRecord.classified(None, None, [0.4, 0.1, 0.4, 0.1], names).label == "neutral"


# round 2 blind mutants (issue 34)
def test_a_path_source_is_recorded_as_text():
    """r2-face-record-source-kept-as-path: the vocabulary's source is a str (JSON-ready), whatever was given."""
    from pathlib import Path

    record = FaceRecord(Path("photos") / "group.jpg", [1, 2, 3, 4], "neutral", {"neutral": 1.0})
    assert type(record.source) is str and record.source == str(Path("photos") / "group.jpg")
    assert json.loads(json.dumps(record.to_record()))["source"] == record.source


# ---- round 5 blind mutants (issue 34)


def test_a_probability_count_other_than_the_class_count_is_refused():
    """r5-face-record-fewer-probabilities-accepted: two probabilities for three class names (or four) is a
    ValueError naming both counts, not a record whose last class silently vanishes."""
    for probabilities in ([0.4, 0.6], [0.1, 0.2, 0.3, 0.4]):
        with pytest.raises(ValueError, match=rf"^{len(probabilities)} probabilities for 3 class names$"):
            FaceRecord.classified("p.jpg", None, probabilities, CLASSES)
    record = FaceRecord.classified("p.jpg", None, [0.2, 0.5, 0.3], CLASSES)
    assert record.label == "happiness" and record.probabilities == {"neutral": 0.2, "happiness": 0.5, "surprise": 0.3}

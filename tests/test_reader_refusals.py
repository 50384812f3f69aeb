"""The dataset readers' refusals and label rules (issue 34): every malformed or out-of-range row is one
DataError naming the file and line; the label rules (FERPlus majority/probability, RAF-DB 1..7,
AffectNet 0..10 with 7-10 dropped as documented) checked row by row against a plain-Python reading of
the datasets' published rules, with Hypothesis drawing the rows.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hypothesis_settings import fast

from dsan_tf.data import affectnet, ferplus, rafdb
from dsan_tf.data.errors import DataError

FAST = fast(60)

# ---------------------------------------------------------------------- RAF-DB


def write_rafdb_labels(tmp_path, text):
    path = tmp_path / "list_patition_label.txt"
    path.write_text(text)
    return path


@pytest.mark.parametrize("line, message", [
    ("train_00002.jpg 0", "label must be an integer 1..7, got '0'"),
    ("train_00002.jpg 8", "label must be an integer 1..7, got '8'"),
    ("train_00002.jpg -3", "label must be an integer 1..7, got '-3'"),
    ("train_00002.jpg 2.5", "label must be an integer 1..7, got '2.5'"),
    ("train_00002.jpg", "expected '<name> <label 1..7>'"),
    ("train_00002.jpg 2 3", "expected '<name> <label 1..7>'"),
    ("valid_00002.jpg 2", "image name must start with 'train_' or 'test_'"),
])
def test_rafdb_refuses_a_bad_line_naming_file_and_line(tmp_path, line, message):
    path = write_rafdb_labels(tmp_path, f"train_00001.jpg 1\n\n{line}\n")
    with pytest.raises(DataError, match="line 3: ") as info:
        rafdb.read_label_list(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_rafdb_refuses_an_empty_or_missing_label_file(tmp_path):
    with pytest.raises(DataError, match="label file is empty"):
        rafdb.read_label_list(write_rafdb_labels(tmp_path, "\n  \n"))
    with pytest.raises(DataError, match="label file not found"):
        rafdb.read_label_list(tmp_path / "nothing.txt")


RAFDB_PUBLISHED = {1: "surprise", 2: "fear", 3: "disgust", 4: "happiness", 5: "sadness", 6: "anger", 7: "neutral"}


@FAST
@given(st.lists(st.tuples(st.sampled_from(["train", "test"]), st.integers(1, 7)), min_size=1, max_size=20))
def test_rafdb_codes_1_to_7_become_indexes_0_to_6(tmp_path_factory, rows):
    from dsan_tf.data.classes import RAFDB_CLASSES

    tmp = tmp_path_factory.mktemp("rafdb")
    lines = [f"{split}_{i:05d}.jpg {code}" for i, (split, code) in enumerate(rows)]
    got = rafdb.read_label_list(write_rafdb_labels(tmp, "\n".join(lines) + "\n"))
    assert [(s, n, k, line) for s, n, k, line in got] == [
        (split, f"{split}_{i:05d}.jpg", code - 1, i + 1) for i, (split, code) in enumerate(rows)]
    assert [RAFDB_CLASSES[k] for _, _, k, _ in got] == [RAFDB_PUBLISHED[code] for _, code in rows]


# ---------------------------------------------------------------------- AffectNet


def affectnet_row(name="a/1.jpg", box=("10", "20", "30", "40"), expression="3"):
    return ",".join([name, *box, "1;2", str(expression), "0.1", "-0.2"])


@pytest.mark.parametrize("row, message", [
    (affectnet_row(expression=11), "expression must be a code 0..10, got 11"),
    (affectnet_row(expression=-1), "expression must be a code 0..10, got -1"),
    (affectnet_row(expression="happy"), "face box and expression must be numbers"),
    (affectnet_row(box=("10", "20", "0", "40")), "face_width/face_height must be > 0"),
    (affectnet_row(box=("10", "20", "30", "0")), "face_width/face_height must be > 0"),
    (affectnet_row(box=("10", "20", "-30", "40")), "face_width/face_height must be > 0"),
    (affectnet_row(box=("10", "20", "0.4", "40")), "face_width/face_height must be > 0"),  # rounds to 0 px
    (affectnet_row(box=("x", "20", "30", "40")), "face box and expression must be numbers"),
    ("a/1.jpg,10,20,30,40", "expected 9 fields"),
])
def test_affectnet_refuses_a_bad_row_naming_file_and_line(tmp_path, row, message):
    path = tmp_path / "training.csv"
    path.write_text(",".join(affectnet.COLUMNS) + "\n" + affectnet_row() + "\n" + row + "\n")
    with pytest.raises(DataError, match="line 3: ") as info:
        affectnet.read_annotation_csv(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_affectnet_refuses_a_file_without_rows(tmp_path):
    path = tmp_path / "validation.csv"
    path.write_text(",".join(affectnet.COLUMNS) + "\n")
    with pytest.raises(DataError, match="annotation file has no rows"):
        affectnet.read_annotation_csv(path)


@pytest.mark.parametrize("num_classes", [7, 8])
@fast(25)
@given(codes=st.lists(st.integers(0, 10), min_size=1, max_size=25))
def test_affectnet_keeps_codes_below_the_class_count_and_counts_the_dropped(tmp_path_factory, num_classes, codes):
    """AffectNet-8 keeps codes 0..7, AffectNet-7 0..6 (contempt 7 dropped); 8 none, 9 uncertain, 10 non-face are
    always dropped; the report counts the dropped rows by code."""
    from PIL import Image

    root = tmp_path_factory.mktemp("affectnet")
    (root / affectnet.IMAGE_DIR / "a").mkdir(parents=True)
    Image.new("RGB", (60, 50)).save(root / affectnet.IMAGE_DIR / "a" / "x.png")
    lines = [affectnet_row("a/x.png", expression=c) for c in codes]
    (root / "training.csv").write_text("\n".join(lines) + "\n")
    kept = [c for c in codes if c < num_classes]
    if not kept:
        with pytest.raises(DataError, match=f"expression codes 0..{num_classes - 1}"):
            affectnet.read_affectnet(root, num_classes)
        return
    data = affectnet.read_affectnet(root, num_classes)
    assert data.table["label"].tolist() == kept
    assert len(data.class_names) == num_classes
    dropped = {c: codes.count(c) for c in sorted(set(codes)) if c >= num_classes}
    line = next(r for r in data.report if "training.csv" in r and "dropped" in r)
    assert line.endswith(", ".join(f"{c}: {n}" for c, n in dropped.items()) or "none")
    assert all(tuple(b) == (10, 20, 30, 40) for b in data.table["box"])


# ---------------------------------------------------------------------- FERPlus


def ferplus_by_hand(votes, mode):
    """FERPlus' rules (microsoft/FERPlus src/ferplus.py) on one row of 10 counts, in plain Python:
    (kept, target of 8)."""
    v = [0.0 if x <= 1 else float(x) for x in votes]  # a single vote is an outlier
    total = sum(v)
    top = max(range(10), key=lambda i: (v[i], -i))  # first index on ties, as np.argmax
    if mode == "majority":
        if not (v[top] > total / 2 and top < 8):
            return False, None
        return True, [1.0 if i == top else 0.0 for i in range(8)]
    emotions = sum(v[:8])
    if top >= 8 or emotions <= 0:
        return False, None
    return True, [x / emotions for x in v[:8]]


@pytest.mark.parametrize("mode", ["majority", "probability"])
@FAST
@given(votes=st.lists(st.lists(st.integers(0, 10), min_size=10, max_size=10), min_size=1, max_size=12))
def test_ferplus_label_rules_row_by_row(mode, votes):
    keep, targets, notes = ferplus.votes_to_targets(np.array(votes), mode)
    for row, kept, target in zip(votes, keep, targets):
        want_kept, want_target = ferplus_by_hand(row, mode)
        assert bool(kept) == want_kept, row
        if want_kept:
            np.testing.assert_allclose(target, want_target, rtol=1e-6, err_msg=str(row))
    assert sum(notes.values()) == len(votes) - int(np.sum(keep))


@pytest.mark.parametrize("votes, mode, kept", [
    ([4, 4, 0, 0, 0, 0, 0, 0, 0, 0], "majority", False),   # a tie at exactly half is no majority
    ([5, 4, 0, 0, 0, 0, 0, 0, 0, 0], "majority", True),
    ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], "probability", False),  # every vote an outlier: nothing left
    ([2, 0, 0, 0, 0, 0, 0, 0, 3, 0], "probability", False),  # "unknown" wins
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 6], "majority", False),   # "not a face" wins
])
def test_ferplus_edge_rows_written_out(votes, mode, kept):
    keep, _, _ = ferplus.votes_to_targets(np.array([votes]), mode)
    assert bool(keep[0]) == kept


@pytest.mark.parametrize("row, message", [
    ('a.png,"(0, 0, 48, 48)",1,2,3,4,5,6,7,8', "expected 12 fields"),
    ('a.png,"(0, 0, 48, 48)",1,2,3,4,5,6,7,8,9,x', "vote counts must be numbers"),
    ('a.png,"(0, 0, 48, 48)",1,2,3,4,5,6,7,8,9,-1', "vote counts must be finite and >= 0"),
    ('a.png,"(0, 0, 48, 48)",1,2,3,4,5,6,7,8,9,nan', "vote counts must be finite and >= 0"),
    ('a.png,"0 0 48 48",1,2,3,4,5,6,7,8,9,0', 'face box must look like "(x, y, w, h)"'),
    (' ,"(0, 0, 48, 48)",1,2,3,4,5,6,7,8,9,0', "empty image name"),
])
def test_ferplus_refuses_a_bad_row_naming_file_and_line(tmp_path, row, message):
    path = tmp_path / "label.csv"
    path.write_text('b.png,"(0, 0, 48, 48)",0,10,0,0,0,0,0,0,0,0\n' + row + "\n")
    with pytest.raises(DataError, match="line 2: ") as info:
        ferplus.read_label_csv(path)
    assert str(path) in str(info.value) and message in str(info.value)

"""FERPlus readers: label protocols, folder layout, raw CSV pair, bad input, real data."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dsan_tf.data import DataError
from dsan_tf.data.classes import FERPLUS_CLASSES
from dsan_tf.data.ferplus import (duplicate_notes, read_fer2013new, read_ferplus, read_ferplus_folders,
                                  votes_to_targets)
from dsan_tf.data.subsets import load_subset_list, match_subset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ferplus"  # beside the checkout
BOX = '"(0, 0, 8, 8)"'


def write_png(path, value=128, size=8):
    Image.fromarray(np.full((size, size), value, np.uint8), mode="L").save(path)


def write_split(root, folder, rows, images=True):
    """rows: (name, votes[10]) -> FER2013*/label.csv + 8x8 PNGs."""
    d = root / folder
    d.mkdir(parents=True)
    lines = []
    for i, (name, votes) in enumerate(rows):
        lines.append(f"{name},{BOX}," + ",".join(str(v) for v in votes))
        if images:
            write_png(d / name, value=10 * i)
    (d / "label.csv").write_text("\n".join(lines) + "\n")
    return d


def one_vote(k, n=10):
    votes = [0] * 10
    votes[k] = n
    return votes


# ------------------------------------------------------------------ label protocols

def test_majority_follows_ferplus_outlier_removal_and_half_rule():
    votes = np.array([
        [2, 1, 1, 1, 1, 1, 1, 1, 1, 0],  # single votes are outliers: 2 of 2 left -> neutral
        [4, 4, 0, 0, 0, 0, 0, 0, 2, 0],  # tie, 4 of 10 -> no majority
        [3, 0, 0, 0, 0, 0, 0, 3, 0, 0],  # exactly half is not more than half
        [0, 0, 0, 0, 0, 0, 0, 0, 8, 2],  # unknown wins -> dropped
        [0, 0, 0, 0, 0, 0, 0, 0, 2, 8],  # NF wins -> dropped
        [0, 0, 0, 0, 0, 0, 0, 6, 3, 1],  # contempt 6 of 9 -> kept
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],  # nothing left -> dropped
    ])
    keep, targets, notes = votes_to_targets(votes, "majority")
    assert keep.tolist() == [True, False, False, False, False, True, False]
    assert targets[0].tolist() == [1, 0, 0, 0, 0, 0, 0, 0]
    assert targets[5].argmax() == 7
    assert notes == {"no majority": 3, "unknown/NF winner": 2}


def test_probability_is_vote_distribution_after_outlier_removal():
    votes = np.array([
        [6, 3, 1, 0, 0, 0, 0, 0, 0, 0],  # the single surprise vote is removed
        [2, 2, 0, 0, 0, 0, 0, 0, 2, 0],  # tie with unknown: first max is neutral -> kept
        [2, 0, 0, 0, 0, 0, 0, 0, 5, 3],  # unknown wins -> dropped
        [4, 0, 0, 0, 0, 0, 0, 0, 2, 2],  # unknown/NF votes are not part of the target
    ])
    keep, targets, _ = votes_to_targets(votes, "probability")
    assert keep.tolist() == [True, True, False, True]
    np.testing.assert_allclose(targets[0], [6 / 9, 3 / 9, 0, 0, 0, 0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(targets[1][:2], [0.5, 0.5])
    np.testing.assert_allclose(targets[3], np.eye(8)[0])
    assert targets.dtype == np.float32


def test_unknown_label_mode_is_refused():
    with pytest.raises(ValueError, match="label_mode"):
        votes_to_targets(np.zeros((1, 10)), "soft")


# ------------------------------------------------------------------ folder layout

def make_folders(tmp_path):
    write_split(tmp_path, "FER2013Train", [
        ("fer0000000.png", one_vote(0)), ("fer0000001.png", one_vote(1)),
        ("fer0000002.png", one_vote(8)),  # unknown: dropped
        ("fer0000003.png", [5, 5, 0, 0, 0, 0, 0, 0, 0, 0]),  # no majority: dropped
        ("fer0000004.png", one_vote(7, 7)),
    ])
    write_split(tmp_path, "FER2013Valid", [("fer0028638.png", one_vote(5)),
                                           ("fer0028639.png", [0, 6, 4, 0, 0, 0, 0, 0, 0, 0])])
    return tmp_path


def test_folder_reader_table_and_missing_test_split(tmp_path):
    data = read_ferplus(make_folders(tmp_path))
    assert data.dataset == "ferplus" and data.class_names == FERPLUS_CLASSES
    assert data.splits == ("train", "valid")
    train = data.split("train")
    assert train["name"].tolist() == ["fer0000000.png", "fer0000001.png", "fer0000004.png"]
    assert train["label"].tolist() == [0, 1, 7]
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in train["path"])
    assert train["box"].iloc[0] == (0, 0, 8, 8)
    assert train["target"].iloc[2].tolist() == np.eye(8)[7].tolist()
    assert data.summary()["valid"] == {"count": 2, "class_counts": [0, 1, 0, 0, 0, 1, 0, 0]}
    assert any("FER2013Test" in note and "no 'test' split" in note for note in data.report)
    assert any("1 no majority" in n and "1 unknown/NF winner" in n for n in data.report)
    with pytest.raises(DataError, match="no 'test' split; available splits: train, valid"):
        data.split("test")


def test_folder_reader_probability_mode(tmp_path):
    data = read_ferplus(make_folders(tmp_path), "probability")
    valid = data.split("valid")
    np.testing.assert_allclose(valid["target"].iloc[1], [0, 0.6, 0.4, 0, 0, 0, 0, 0])
    assert valid["label"].tolist() == [5, 1]
    # probability mode keeps the 5/5 tie that majority drops
    assert len(data.split("train")) == 4


@pytest.mark.parametrize("line, message", [
    (f"fer0000000.png,{BOX},1,2,3", r"line 2: expected 12 fields"),
    (f"fer0000000.png,{BOX},1,2,3,x,0,0,0,0,0,0", r"line 2: vote counts must be numbers"),
    ('fer0000000.png,"(0, 0, 48)",1,2,3,0,0,0,0,0,0,0', r"line 2: face box must look like"),
    (f"fer0000000.png,{BOX},1,2,-3,0,0,0,0,0,0,0", r"line 2: vote counts must be finite"),
])
def test_malformed_label_line_names_file_and_line(tmp_path, line, message):
    d = write_split(tmp_path, "FER2013Train", [("fer0000001.png", one_vote(0))])
    (d / "label.csv").write_text((d / "label.csv").read_text() + line + "\n")
    with pytest.raises(DataError, match=message) as err:
        read_ferplus(tmp_path)
    assert str(d / "label.csv") in str(err.value)


def test_missing_folder_and_missing_label_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_ferplus(tmp_path / "nope")
    with pytest.raises(DataError, match="expected FERPlus folders"):
        read_ferplus(tmp_path)
    (tmp_path / "FER2013Train").mkdir()
    with pytest.raises(DataError, match=r"FER2013Train/label.csv: label file not found"):
        read_ferplus(tmp_path)


def test_listed_image_missing_fails_or_is_skipped_and_reported(tmp_path):
    d = write_split(tmp_path, "FER2013Train", [("fer0000000.png", one_vote(0)),
                                               ("fer0000001.png", one_vote(1))])
    (d / "fer0000001.png").unlink()
    with pytest.raises(DataError, match=r"fer0000001.png .*is missing.*skip_missing=True"):
        read_ferplus(tmp_path)
    data = read_ferplus(tmp_path, skip_missing=True)
    assert data.split("train")["name"].tolist() == ["fer0000000.png"]
    assert any("skipped 1 row(s) whose image is missing" in n for n in data.report)


def test_bytes_that_are_not_an_image(tmp_path):
    d = write_split(tmp_path, "FER2013Train", [("fer0000000.png", one_vote(0)),
                                               ("fer0000001.png", one_vote(1))])
    (d / "fer0000001.png").write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match=r"fer0000001.png .*is not an image"):
        read_ferplus(tmp_path)
    data = read_ferplus(tmp_path, skip_missing=True)
    assert len(data.split("train")) == 1
    assert any("not an image" in n for n in data.report)
    # check_images="none" defers the check to the pipeline (tested there)
    assert len(read_ferplus(tmp_path, check_images="none").split("train")) == 2


def test_truncated_png_is_caught_by_decode_check(tmp_path):
    d = write_split(tmp_path, "FER2013Train", [("fer0000000.png", one_vote(0))])
    data = (d / "fer0000000.png").read_bytes()
    (d / "fer0000000.png").write_bytes(data[:20])
    assert len(read_ferplus_folders(tmp_path).table) == 1  # header check passes
    with pytest.raises(DataError, match="not a decodable image"):
        read_ferplus_folders(tmp_path, check_images="decode")


def test_empty_after_filtering_names_the_label_file(tmp_path):
    write_split(tmp_path, "FER2013Train", [("fer0000000.png", one_vote(8)),
                                           ("fer0000001.png", one_vote(9))])
    with pytest.raises(DataError, match=r"FER2013Train/label.csv: no image left"):
        read_ferplus(tmp_path)


# ------------------------------------------------------------------ raw CSV pair

HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"


def write_raw_pair(root, rows):
    """rows: (usage, name, votes, pixel value) -> fer2013.csv + fer2013new.csv (4x4)."""
    old = ["emotion,pixels,Usage"]
    new = [HEADER]
    for usage, name, votes, value in rows:
        pixels = " ".join(str((value + i) % 256) for i in range(16))
        old.append(f'0,"{pixels}",{usage}' if value % 2 else f"0,{pixels},{usage}")
        new.append(f"{usage},{name}," + ",".join(str(v) for v in votes))
    (root / "fer2013.csv").write_text("\n".join(old) + "\n")
    (root / "fer2013new.csv").write_text("\n".join(new) + "\n")


RAW_ROWS = [
    ("Training", "fer0000000.png", one_vote(0), 0),
    ("Training", "", one_vote(1), 10),  # dropped by FERPlus: no name
    ("Training", "fer0000002.png", one_vote(3), 20),
    ("Training", "fer0000002.png", one_vote(3), 30),  # identical duplicate
    ("PublicTest", "fer0028638.png", one_vote(4), 40),
    ("PrivateTest", "fer0032220.png", one_vote(6), 50),
    ("PrivateTest", "fer0032220.png", one_vote(9), 60),  # conflicting duplicate (NF)
    ("PrivateTest", "fer0032221.png", one_vote(2), 70),
]


def test_raw_pair_reader_images_splits_and_duplicates(tmp_path):
    write_raw_pair(tmp_path, RAW_ROWS)
    data = read_ferplus(tmp_path)
    assert data.summary() == {
        "train": {"count": 3, "class_counts": [1, 0, 0, 2, 0, 0, 0, 0]},
        "valid": {"count": 1, "class_counts": [0, 0, 0, 0, 1, 0, 0, 0]},
        "test": {"count": 2, "class_counts": [0, 0, 1, 0, 0, 0, 1, 0]}}
    table = data.table
    assert (table["path"] == "").all()
    image = np.array(Image.open(io.BytesIO(table["image_bytes"].iloc[1])))
    assert image.shape == (4, 4) and image[0, 0] == 20 and image[3, 3] == 35
    report = "\n".join(data.report)
    assert "2 image name(s) listed more than once, 1 with conflicting votes (fer0032220.png)" in report
    assert "fer0000002.png appears on lines 4, 5 (identical votes)" in report
    assert "fer0032220.png appears on lines 7, 8 (CONFLICTING votes)" in report
    assert "1 rows without an image name" in report


def test_raw_pair_bad_input(tmp_path):
    write_raw_pair(tmp_path, RAW_ROWS)
    old = (tmp_path / "fer2013.csv").read_text().splitlines()
    (tmp_path / "fer2013.csv").write_text("\n".join(old[:-1]) + "\n")
    with pytest.raises(DataError, match="has 7 rows but .* has 8"):
        read_ferplus(tmp_path)
    (tmp_path / "fer2013.csv").write_text("\n".join(old[:2] + [old[2].replace("Training", "PublicTest")]
                                                     + old[3:]) + "\n")
    with pytest.raises(DataError, match=r"fer2013.csv line 3 says Usage 'PublicTest'"):
        read_ferplus(tmp_path)
    (tmp_path / "fer2013.csv").write_text("\n".join(old[:1] + ["0,1 2 3,Training"] + old[2:]) + "\n")
    with pytest.raises(DataError, match=r"fer2013.csv line 2: pixels must be a square image"):
        read_ferplus(tmp_path)
    (tmp_path / "fer2013.csv").unlink()
    with pytest.raises(DataError, match=r"fer2013.csv \(emotion,pixels,Usage\) not found"):
        read_ferplus(tmp_path)
    new = (tmp_path / "fer2013new.csv").read_text().splitlines()
    (tmp_path / "fer2013new.csv").write_text("\n".join(new[:3] + ["Training,x.png,1,2"]) + "\n")
    with pytest.raises(DataError, match=r"fer2013new.csv line 4: expected 12 fields"):
        read_fer2013new(tmp_path / "fer2013new.csv")


# ------------------------------------------------------------------ the real data

shared = pytest.mark.skipif(not (SHARED / "FER2013Train" / "label.csv").is_file(),
                            reason=f"real FERPlus data not found at {SHARED}")


@shared
def test_majority_on_shared_folders_gives_the_published_counts():
    data = read_ferplus_folders(SHARED, "majority", check_images="exists")
    summary = data.summary()
    assert summary["train"]["count"] == 25045
    assert summary["valid"]["count"] == 3191
    assert summary["train"]["class_counts"] == [8733, 7284, 3136, 3022, 2098, 116, 536, 120]
    assert data.splits == ("train", "valid")
    assert any("FER2013Test" in n for n in data.report)


@pytest.mark.skipif(not (SHARED / "fer2013new.csv").is_file(),
                    reason=f"fer2013new.csv not found at {SHARED}")
def test_shared_fer2013new_counts_duplicates_and_ran_lists():
    labels = read_fer2013new(SHARED / "fer2013new.csv")
    named = labels[labels["name"] != ""]
    keep, _, _ = votes_to_targets(np.stack(named["votes"].to_numpy()), "majority")
    counts = named[keep]["usage"].value_counts().to_dict()
    assert counts == {"Training": 25060, "PublicTest": 3199, "PrivateTest": 3153}
    notes = duplicate_notes(labels, "fer2013new.csv")
    assert notes[0] == ("fer2013new.csv: 4 image name(s) listed more than once, "
                        "1 with conflicting votes (fer0033120.png)")
    # RAN's lists name test (PrivateTest) images: every name matches, by stem.
    test = labels[labels["usage"] == "PrivateTest"]
    for name, size in [("jianfei_occlusion_list.txt", 605), ("pose_30_ferplus_list.txt", 1170),
                       ("pose_45_ferplus_list.txt", 633)]:
        mask, unmatched = match_subset(test, load_subset_list(SHARED / "challenge-condition" / name))
        assert (int(mask.sum()), unmatched) == (size, 0)


# round 2 blind mutants (issue 34)

def test_older_label_csv_without_the_box_column_keeps_all_ten_votes(tmp_path):
    from dsan_tf.data.ferplus import read_label_csv

    d = tmp_path / "FER2013Train"
    d.mkdir()
    # 11 fields: name + 10 counts, no box; neutral 6 of 10 votes (a majority), NF 4
    (d / "label.csv").write_text("fer0000001.png,6,0,0,0,0,0,0,0,0,4\nfer0000002.png,0,0,0,0,0,0,0,2,0,8\n")
    frame = read_label_csv(d / "label.csv")
    assert list(frame["votes"].iloc[0]) == [6.0] + [0.0] * 8 + [4.0]
    assert list(frame["votes"].iloc[1]) == [0.0] * 7 + [2.0, 0.0, 8.0]
    assert frame["box"].tolist() == [None, None]
    write_png(d / "fer0000001.png")
    write_png(d / "fer0000002.png")
    data = read_ferplus_folders(tmp_path)
    assert data.table["name"].tolist() == ["fer0000001.png"]  # the NF winner dropped
    assert data.table["label"].tolist() == [0]


def test_raw_pair_white_pixels_are_kept(tmp_path):
    # pixel values (240 + i) % 256 for i in 0..15: 240..255, a white pixel last
    write_raw_pair(tmp_path, [("Training", "fer0000000.png", one_vote(1), 240),
                              ("PublicTest", "fer0000001.png", one_vote(2), 0)])
    data = read_ferplus(tmp_path)
    image = np.array(Image.open(io.BytesIO(data.split("train")["image_bytes"].iloc[0])))
    assert image.shape == (4, 4) and image[0, 0] == 240 and image[3, 3] == 255


# ---- lines its own tests never ran (issue 34)

def test_label_csv_blank_lines_undecodable_bytes_and_no_rows(tmp_path):
    from dsan_tf.data.ferplus import read_label_csv

    path = tmp_path / "label.csv"
    # blank and all-space lines are skipped; the line numbers kept are those of the file
    path.write_text(f"\nfer0000001.png,{BOX},0,9,0,0,0,0,0,0,0,1\n , \nfer0000002.png,{BOX},0,0,0,0,0,0,0,0,0,3\n")
    frame = read_label_csv(path)
    assert frame["name"].tolist() == ["fer0000001.png", "fer0000002.png"]
    assert frame["line"].tolist() == [2, 4]
    assert frame["box"].tolist() == [(0, 0, 8, 8), (0, 0, 8, 8)]
    path.write_bytes(b"fer0000001.png,\xff\xfe,1\n")
    with pytest.raises(DataError, match=r"label\.csv line \d+: not a CSV label file \('utf-8' codec"):
        read_label_csv(path)
    path.write_text("\n  \n")
    with pytest.raises(DataError, match=r"label\.csv: label file is empty; expected one line per image"):
        read_label_csv(path)
    path.write_text(f" ,{BOX},0,9,0,0,0,0,0,0,0,1\n")
    with pytest.raises(DataError, match=r"label\.csv line 1: empty image name"):
        read_label_csv(path)


def test_folder_reader_refusals_and_the_unused_fer2013new_note(tmp_path):
    with pytest.raises(DataError, match=r"nope: FERPlus data folder not found"):
        read_ferplus_folders(tmp_path / "nope")
    with pytest.raises(DataError, match=r"no FERPlus split folder found; expected FER2013Train, FER2013Valid, "
                                        r"FER2013Test \(each with label.csv \+ PNGs\)"):
        read_ferplus_folders(tmp_path)
    make_folders(tmp_path)
    assert not any("fer2013new.csv" in note for note in read_ferplus(tmp_path).report)
    (tmp_path / "fer2013new.csv").write_text(HEADER + "\n")  # the folders win; the CSV is said unused
    data = read_ferplus(tmp_path)
    assert data.splits == ("train", "valid")
    assert f"{tmp_path.resolve()}: read the FER2013* folders; fer2013new.csv there was not used " \
           "(it is a later label revision)" in data.report


def test_fer2013new_refusals_name_file_and_line(tmp_path):
    path = tmp_path / "fer2013new.csv"
    with pytest.raises(DataError, match=r"fer2013new.csv: FERPlus label file fer2013new.csv not found"):
        read_fer2013new(path)
    path.write_text(HEADER.replace("NF", "nf") + "\n")
    with pytest.raises(DataError, match=r"fer2013new.csv line 1: expected header Usage,Image name,.*,NF, got"):
        read_fer2013new(path)
    path.write_text("")
    with pytest.raises(DataError, match=r"line 1: expected header .* got None"):
        read_fer2013new(path)
    path.write_text(HEADER + "\n")
    with pytest.raises(DataError, match=r"fer2013new.csv: no label rows"):
        read_fer2013new(path)
    votes = ",".join(["0"] * 9 + ["4"])
    path.write_text(f" {HEADER.replace(',', ' ,')}\nTraining,a.png,{votes}\n\nPublicTest,,{votes}\n")
    frame = read_fer2013new(path)  # header fields are compared stripped; blank lines skipped
    assert frame["usage"].tolist() == ["Training", "PublicTest"] and frame["name"].tolist() == ["a.png", ""]
    assert frame["line"].tolist() == [2, 4] and frame["votes"].iloc[0][-1] == 4.0
    path.write_text(f"{HEADER}\nTraining,a.png,{votes}\ntraining,b.png,{votes}\n")
    with pytest.raises(DataError, match=r"fer2013new.csv line 3: Usage must be one of "
                                        r"\['Training', 'PublicTest', 'PrivateTest'\], got 'training'"):
        read_fer2013new(path)


def test_raw_pixel_file_refusals(tmp_path):
    write_raw_pair(tmp_path, [RAW_ROWS[0], ("Training", "fer0000009.png", one_vote(2), 10)])  # both named
    old = (tmp_path / "fer2013.csv").read_text().splitlines()
    (tmp_path / "fer2013.csv").write_text("\n".join([old[0], old[1], "0,1 2 x 4,Training"]) + "\n")
    with pytest.raises(DataError, match=r"fer2013.csv line 3: pixels must be space-separated integers"):
        read_ferplus(tmp_path)
    (tmp_path / "fer2013.csv").write_text("\n".join([old[0], old[1], "0,1 2 3 256,Training"]) + "\n")
    with pytest.raises(DataError, match=r"fer2013.csv line 3: pixels must be a square image of 0..255 values, "
                                        r"got 4 values"):
        read_ferplus(tmp_path)
    (tmp_path / "fer2013.csv").write_text("emotion,pixels\n0,1 2 3 4\n0,5 6 7 8\n")
    with pytest.raises(DataError, match=r"fer2013.csv line 1: expected columns emotion,pixels,Usage; "
                                        r"missing \['Usage'\]"):
        read_ferplus(tmp_path)
    (tmp_path / "fer2013.csv").write_text("emotion,pixels,Usage\n0,1 2 3 4,Training\n0,5,6,7,8,Training\n")
    with pytest.raises(DataError, match=r"fer2013.csv: not a CSV file \(Error tokenizing data"):
        read_ferplus(tmp_path)
    (tmp_path / "fer2013.csv").write_bytes(b"emotion,pixels,Usage\n0,\xff\xfe,Training\n")
    with pytest.raises(DataError, match=r"fer2013.csv: not a CSV file \('utf-8' codec"):
        read_ferplus(tmp_path)


# ---- round 8 blind mutants (issue 34)

@pytest.mark.parametrize("count", ["inf", "-inf", "Infinity", "1e999"])
def test_an_infinite_vote_count_is_refused_naming_the_line(tmp_path, count):
    """r8-ferplus-infinite-votes-accepted: a count that float() reads as infinite (1e999 overflows) is refused
    on its line, as NaN and negative counts are, in label.csv and in fer2013new.csv; an infinite count would
    make the row's targets NaN (inf / inf)."""
    from dsan_tf.data.ferplus import read_label_csv

    votes = ",".join(["0"] * 9 + [count])
    path = tmp_path / "label.csv"
    path.write_text(f"a.png,{BOX},0,10,0,0,0,0,0,0,0,0\nb.png,{BOX},{votes}\n")
    with pytest.raises(DataError, match=r"label.csv line 2: vote counts must be finite and >= 0"):
        read_label_csv(path)
    header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
    path = tmp_path / "fer2013new.csv"
    path.write_text(f"{header}\nTraining,a.png,{votes}\n")
    with pytest.raises(DataError, match=r"fer2013new.csv line 2: vote counts must be finite and >= 0"):
        read_fer2013new(path)


# ---- round 9 blind mutants (issue 34)


def test_an_empty_pixels_field_is_refused_naming_its_line(tmp_path):
    """r9-ferplus-empty-pixels: a fer2013.csv row whose pixels field is empty ("0,,Training") is the reader's
    DataError naming line 3 and its 0 values, not numpy's "zero-size array" ValueError."""
    write_raw_pair(tmp_path, [RAW_ROWS[0], ("Training", "fer0000009.png", one_vote(2), 10)])
    old = (tmp_path / "fer2013.csv").read_text().splitlines()
    (tmp_path / "fer2013.csv").write_text("\n".join([old[0], old[1], "0,,Training"]) + "\n")
    with pytest.raises(DataError, match=r"fer2013.csv line 3: pixels must be a square image of 0..255 values, "
                                        r"got 0 values"):
        read_ferplus(tmp_path)


# ---- issue 34: line-by-line sweep (ferplus)


def test_majority_counts_an_unknown_winner_without_a_majority_as_no_majority():
    # unknown 4, NF 4: argmax is unknown (first max) but 4 is not more than half of 8 -> "no majority" only;
    # unknown 6 of 8 -> a majority for a non-emotion -> "unknown/NF winner".
    votes = np.array([[0, 0, 0, 0, 0, 0, 0, 0, 4, 4], [0, 0, 0, 0, 0, 0, 0, 0, 6, 2], [0, 5, 0, 0, 0, 0, 0, 0, 0, 0]])
    keep, _, notes = votes_to_targets(votes, "majority")
    assert keep.tolist() == [False, False, True]
    assert notes == {"no majority": 1, "unknown/NF winner": 1}


def test_probability_drops_rows_without_emotion_votes_and_counts_each_reason_once():
    votes = np.array([
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],  # every vote an outlier: no emotion vote left
        [2, 0, 0, 0, 0, 0, 0, 0, 5, 3],  # unknown wins
        [3, 0, 0, 0, 0, 0, 0, 2, 0, 0],  # neutral 3, contempt 2 -> 0.6 / 0.4
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 2],  # NF wins (and no emotion vote): counted as an NF winner only
    ])
    keep, targets, notes = votes_to_targets(votes, "probability")
    assert keep.tolist() == [False, False, True, False]
    assert notes == {"unknown/NF winner": 2, "no emotion vote": 1}
    np.testing.assert_allclose(targets[2], [0.6, 0, 0, 0, 0, 0, 0, 0.4], rtol=1e-6)


def test_face_box_fields_keep_their_order_sign_and_spacing():
    from dsan_tf.data.ferplus import parse_box

    assert parse_box(" ( -3, 4 ,40,  41 ) ", "w") == (-3, 4, 40, 41)  # x may be negative (face past the edge)
    with pytest.raises(DataError, match=r'^here: face box must look like "\(x, y, w, h\)", got'):
        parse_box("(0, 0, -8, 8)", "here")  # a negative width is no box


def test_folder_table_keeps_each_rows_own_box(tmp_path):
    d = tmp_path / "FER2013Train"
    d.mkdir()
    (d / "label.csv").write_text('a.png,"(1, 2, 40, 41)",0,9,0,0,0,0,0,0,0,0\nb.png,"(5, 6, 30, 31)",9,0,0,0,0,0,0,0,0,0\n')
    write_png(d / "a.png")
    write_png(d / "b.png")
    table = read_ferplus_folders(tmp_path).table
    assert table["box"].tolist() == [(1, 2, 40, 41), (5, 6, 30, 31)] and table["label"].tolist() == [1, 0]


def test_byte_order_marks_are_not_part_of_the_first_name_or_header(tmp_path):
    from dsan_tf.data.ferplus import read_label_csv

    (tmp_path / "label.csv").write_bytes(b"\xef\xbb\xbffer0000001.png," + BOX.encode() + b",0,9,0,0,0,0,0,0,0,0\n")
    assert read_label_csv(tmp_path / "label.csv")["name"].tolist() == ["fer0000001.png"]
    write_raw_pair(tmp_path, [("Training", "fer0000000.png", one_vote(1), 0)])
    for name in ("fer2013.csv", "fer2013new.csv"):  # Excel's "CSV UTF-8": a mark before the header
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + (tmp_path / name).read_bytes())
    data = read_ferplus(tmp_path)
    assert data.table["name"].tolist() == ["fer0000000.png"] and data.table["label"].tolist() == [1]


def test_duplicate_names_in_a_label_csv_are_reported(tmp_path):
    d = write_split(tmp_path, "FER2013Train", [("fer0000001.png", one_vote(0)), ("fer0000002.png", one_vote(1)),
                                               ("fer0000001.png", one_vote(2))])
    data = read_ferplus(tmp_path)
    label = d.resolve() / "label.csv"
    assert f"{label}: 1 image name(s) listed more than once, 1 with conflicting votes (fer0000001.png)" in data.report
    assert f"{label}: image name fer0000001.png appears on lines 1, 3 (CONFLICTING votes); all rows kept" in data.report
    assert data.table["label"].tolist() == [0, 1, 2]


def test_duplicate_notes_leave_rows_without_a_name_alone():
    import pandas as pd

    frame = pd.DataFrame({"name": ["", "a.png", "", "a.png"], "votes": [[1.0], [2.0], [3.0], [2.0]],
                          "line": [2, 3, 4, 5]})
    assert duplicate_notes(frame, "f.csv") == [
        "f.csv: 1 image name(s) listed more than once, 0 with conflicting votes",
        "f.csv: image name a.png appears on lines 3, 5 (identical votes); all rows kept"]


def test_folder_report_line_per_label_file_is_exact(tmp_path):
    data = read_ferplus(make_folders(tmp_path))
    root = tmp_path.resolve()
    assert (f"{root / 'FER2013Train' / 'label.csv'}: 5 rows, 3 kept under majority "
            "(dropped: 1 no majority, 1 unknown/NF winner)") in data.report
    assert f"{root / 'FER2013Valid' / 'label.csv'}: 2 rows, 2 kept under majority" in data.report  # nothing dropped
    assert f"{root / 'FER2013Test'}: not found, no 'test' split" in data.report


def test_every_image_of_a_split_missing_is_refused_even_when_skipping(tmp_path):
    write_split(tmp_path, "FER2013Train", [("fer0000000.png", one_vote(0))], images=False)
    with pytest.raises(DataError, match=r"FER2013Train/label.csv: no image left; expected image files next to "
                                        r"label.csv"):
        read_ferplus(tmp_path, skip_missing=True)


def test_all_three_folders_give_train_valid_and_test(tmp_path):
    make_folders(tmp_path)
    write_split(tmp_path, "FER2013Test", [("fer0032220.png", one_vote(6)), ("fer0032221.png", one_vote(3))])
    data = read_ferplus_folders(tmp_path)
    assert data.splits == ("train", "valid", "test")
    assert data.split("test")["label"].tolist() == [6, 3]
    assert data.split("test")["path"].tolist() == [str(tmp_path.resolve() / "FER2013Test" / n)
                                                   for n in ("fer0032220.png", "fer0032221.png")]


def test_a_folder_under_the_home_directory_is_found_from_tilde(tmp_path, monkeypatch):
    make_folders(tmp_path / "fer")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert read_ferplus_folders("~/fer").splits == ("train", "valid")
    assert read_ferplus("~/fer").splits == ("train", "valid")


def test_raw_pair_is_read_in_the_label_mode_asked_for(tmp_path):
    write_raw_pair(tmp_path, [("Training", "fer0000000.png", [5, 5, 0, 0, 0, 0, 0, 0, 0, 0], 0),
                              ("Training", "fer0000001.png", [2, 8, 0, 0, 0, 0, 0, 0, 0, 0], 10)])
    assert read_ferplus(tmp_path).table["name"].tolist() == ["fer0000001.png"]  # the 5/5 tie has no majority
    soft = read_ferplus(tmp_path, "probability").table
    assert soft["name"].tolist() == ["fer0000000.png", "fer0000001.png"]
    np.testing.assert_allclose(np.stack(soft["target"].to_numpy())[:, :2], [[0.5, 0.5], [0.2, 0.8]], rtol=1e-6)


def test_raw_pixels_below_zero_are_refused(tmp_path):
    write_raw_pair(tmp_path, [RAW_ROWS[0], ("Training", "fer0000009.png", one_vote(2), 10)])
    old = (tmp_path / "fer2013.csv").read_text().splitlines()
    (tmp_path / "fer2013.csv").write_text("\n".join([old[0], old[1], "0,-1 2 3 4,Training"]) + "\n")
    with pytest.raises(DataError, match=r"fer2013.csv line 3: pixels must be a square image of 0..255 values, "
                                        r"got 4 values"):
        read_ferplus(tmp_path)


def test_raw_pair_notes_a_usage_with_no_rows(tmp_path):
    write_raw_pair(tmp_path, [("Training", "fer0000000.png", one_vote(1), 0),
                              ("PublicTest", "fer0000001.png", one_vote(2), 0)])
    data = read_ferplus(tmp_path)
    assert data.splits == ("train", "valid")
    assert f"{tmp_path.resolve() / 'fer2013new.csv'} [PrivateTest -> test]: no rows, no 'test' split" in data.report


def test_raw_pair_without_any_image_name_is_refused(tmp_path):
    write_raw_pair(tmp_path, [("Training", "", one_vote(1), 0), ("PublicTest", "", one_vote(2), 0)])
    with pytest.raises(DataError, match=r"fer2013new.csv: no image left; expected rows with an image name"):
        read_ferplus(tmp_path)


def test_fer2013new_image_names_lose_surrounding_spaces(tmp_path):
    path = tmp_path / "fer2013new.csv"
    path.write_text(f"{HEADER}\nTraining, fer0000001.png ,0,9,0,0,0,0,0,0,0,0\n")
    assert read_fer2013new(path)["name"].tolist() == ["fer0000001.png"]


def test_skipped_images_are_reported_under_their_label_file(tmp_path):
    d = write_split(tmp_path, "FER2013Train", [("fer0000000.png", one_vote(0)), ("fer0000001.png", one_vote(1))])
    (d / "fer0000001.png").unlink()
    data = read_ferplus(tmp_path, skip_missing=True)
    label, image = d.resolve() / "label.csv", d.resolve() / "fer0000001.png"
    assert f"{label}: skipped 1 row(s) whose image is missing (e.g. {image})" in data.report


def test_a_usage_mismatch_names_each_files_own_line(tmp_path):
    write_raw_pair(tmp_path, RAW_ROWS[:3])
    new = (tmp_path / "fer2013new.csv").read_text().splitlines()
    (tmp_path / "fer2013new.csv").write_text("\n".join([new[0], "", *new[1:]]) + "\n")  # a blank line 2
    old = (tmp_path / "fer2013.csv").read_text().splitlines()
    old[2] = old[2].replace("Training", "PublicTest")
    (tmp_path / "fer2013.csv").write_text("\n".join(old) + "\n")
    with pytest.raises(DataError, match=r"fer2013.csv line 3 says Usage 'PublicTest' but \S*fer2013new.csv line 4 "
                                        r"says 'Training': the two files do not pair row by row"):
        read_ferplus(tmp_path)


def test_the_raw_pair_is_the_ferplus_dataset_with_its_eight_classes(tmp_path):
    write_raw_pair(tmp_path, RAW_ROWS)
    data = read_ferplus(tmp_path)
    assert data.dataset == "ferplus"
    assert data.class_names == ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")


def test_a_label_line_with_a_field_too_many_is_refused(tmp_path):
    from dsan_tf.data.ferplus import read_label_csv

    path = tmp_path / "label.csv"
    path.write_text(f"a.png,{BOX},0,9,0,0,0,0,0,0,0,0\nb.png,{BOX},0,9,0,0,0,0,0,0,0,0,0\n")  # 13 fields
    with pytest.raises(DataError, match=r"label.csv line 2: expected 12 fields \(name, .*got 13$"):
        read_label_csv(path)


def test_a_folder_layout_with_only_the_validation_folder_is_read_as_folders(tmp_path):
    write_split(tmp_path, "FER2013Valid", [("fer0028638.png", one_vote(5))])
    data = read_ferplus(tmp_path)
    assert data.splits == ("valid",) and data.table["label"].tolist() == [5]

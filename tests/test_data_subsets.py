"""RAN occlusion/pose lists (FERPlus, RAF-DB, AffectNet): formats, duplicates, matching to a split."""

import io
import logging
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from dsan_tf.data import DataError, load_dataset, load_subset_list, match_subset
from dsan_tf.data.subsets import match_key, read_subset_list

OCCLUSION = "1_fer0034656.png 8 0\n2_fer0033359.png 8 2\n\n10_fer0099999.png 3 1\n"
POSE = "0/fer0032226.jpg\n1/fer0032227.jpg\n4/fer0032228.jpg\n"


def test_parse_both_formats(tmp_path):
    (tmp_path / "occ.txt").write_text(OCCLUSION)
    (tmp_path / "pose.txt").write_text(POSE)
    assert load_subset_list(tmp_path / "occ.txt") == ["fer0034656.png", "fer0033359.png",
                                                      "fer0099999.png"]
    assert load_subset_list(tmp_path / "pose.txt") == ["fer0032226.jpg", "fer0032227.jpg",
                                                       "fer0032228.jpg"]


def test_match_by_stem_and_count_unmatched(tmp_path):
    table = pd.DataFrame({"name": ["fer0032226.png", "fer0032227.png", "fer0034656.png",
                                   "fer0000001.png"]})
    (tmp_path / "pose.txt").write_text(POSE)
    mask, unmatched = match_subset(table, load_subset_list(tmp_path / "pose.txt"))
    assert mask.tolist() == [True, True, False, False] and unmatched == 1
    (tmp_path / "occ.txt").write_text(OCCLUSION)
    mask, unmatched = match_subset(table, load_subset_list(tmp_path / "occ.txt"))
    assert mask.tolist() == [False, False, True, False] and unmatched == 2


@pytest.mark.parametrize("text, line", [("0/fer1.jpg\nfer2.jpg\n", 2),
                                        ("1_fer0034656.png 8\n", 1),
                                        ("0/readme\n", 1)])
def test_malformed_list_names_the_line(tmp_path, text, line):
    (tmp_path / "list.txt").write_text(text)
    with pytest.raises(DataError, match=f"list.txt line {line}: expected"):
        load_subset_list(tmp_path / "list.txt")


def test_missing_or_empty_list(tmp_path):
    with pytest.raises(DataError, match="subset list not found"):
        load_subset_list(tmp_path / "none.txt")
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(DataError, match="subset list is empty"):
        load_subset_list(tmp_path / "empty.txt")


# ---------------------------------------------------------------- RAF-DB and AffectNet formats
HEX = "737db2483489148d783ef278f43f486c0a97e140fc4b6b61b84363ca"


@pytest.mark.parametrize("line, name", [
    ("test_0003_aligned 3 4", "test_0003_aligned"),
    ("0/test_0004_aligned.jpg", "test_0004_aligned.jpg"),
    (f"val/0/{HEX}/", HEX),
    (f"0/{HEX}.jpg", HEX),
    (f"7/{HEX}/8.jpg", HEX),
    (f"Manually_Annotated_Images/689/{HEX.upper()}.JPG", HEX.upper()),
])
def test_rafdb_and_affectnet_lines(tmp_path, line, name):
    (tmp_path / "list.txt").write_text(line + "\r\n")
    assert load_subset_list(tmp_path / "list.txt") == [name]


@pytest.mark.parametrize("line", [f"0/{HEX}/{HEX}.jpg",  # two stems: which image?
                                  f"0/{HEX[:-1]}.jpg/x",  # 55 hex digits
                                  f"0/{HEX}.jpg 3",  # a second field
                                  "test_0003_aligned 3",  # occlusion list needs two numbers
                                  "0/1/test_0004_aligned.jpg"])
def test_lines_of_no_known_format_are_errors(tmp_path, line):
    (tmp_path / "list.txt").write_text(f"0/test_0004_aligned.jpg\n{line}\n")
    with pytest.raises(DataError, match=r"list.txt line 2: expected one of .*RAF-DB occlusion.*"
                                        r"AffectNet.*; got"):
        load_subset_list(tmp_path / "list.txt")


def test_match_keys_ignore_aligned_extension_and_hex_case():
    table = pd.DataFrame({"name": ["test_0003.jpg", "test_0004_aligned.jpg", "train_00003.jpg",
                                   f"689/{HEX}.png", "fer0000003.png"]})
    mask, unmatched = match_subset(table, ["test_0003_aligned", "test_0004.jpg", HEX.upper(),
                                           "test_0005_aligned.jpg"])
    assert mask.tolist() == [True, True, False, True, False] and unmatched == 1


def test_duplicates_are_counted_once_and_reported(tmp_path, caplog):
    (tmp_path / "occ.txt").write_text("test_2464_aligned 6 2\r\ntest_0003_aligned 3 4\r\n"
                                      "test_2464_aligned 6 2")
    listing = read_subset_list(tmp_path / "occ.txt")
    assert listing.names == ["test_2464_aligned", "test_0003_aligned"]
    assert listing.duplicates == {"test_2464_aligned": [1, 3]}
    with caplog.at_level(logging.WARNING):
        assert load_subset_list(tmp_path / "occ.txt") == listing.names
    assert "occ.txt: 1 name(s) listed more than once, counted once: test_2464_aligned " \
           "(lines 1, 3)" in caplog.text


# ---------------------------------------------------------------- RAN's nine lists on small trees
SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
# (dataset folder, list file) -> (rows, distinct names, names listed twice), counted once by hand
RAN_LISTS = {
    ("ferplus", "jianfei_occlusion_list.txt"): (605, 605, 0),
    ("ferplus", "pose_30_ferplus_list.txt"): (1170, 1170, 0),
    ("ferplus", "pose_45_ferplus_list.txt"): (633, 633, 0),
    ("rafdb", "rafdb_occlusion_list.txt"): (735, 734, 1),
    ("rafdb", "val_raf_db_list.txt"): (1247, 1247, 0),
    ("rafdb", "val_raf_db_list_45.txt"): (558, 558, 0),
    ("affectnet", "occlusion_affectnet_list.txt"): (683, 683, 0),
    ("affectnet", "pose_30_affectnet_list.txt"): (1949, 1944, 5),
    ("affectnet", "pose_45_affectnet_list.txt"): (985, 983, 2),
}
needs_lists = pytest.mark.skipif(
    not all((SHARED / d / "challenge-condition" / f).is_file() for d, f in RAN_LISTS),
    reason=f"RAN's lists not found under {SHARED}")
# One tiny JPEG's bytes, written under every name: the readers check each file's signature.
_buffer = io.BytesIO()
Image.new("L", (2, 2)).save(_buffer, "JPEG")
JPEG = _buffer.getvalue()


def _ran_names(dataset):
    """Distinct names of ``dataset``'s three lists, by file name."""
    return {f: read_subset_list(SHARED / d / "challenge-condition" / f).names
            for d, f in RAN_LISTS if d == dataset}


def _rafdb_tree(root):
    """RAF-DB basic with every listed test image, two unlisted ones, and a train image of
    each listed number (train_00004 for test_0004: the wrong split)."""
    numbers = {int(match_key(n)[len("test_"):]) for names in _ran_names("rafdb").values()
               for n in names}
    numbers |= {1, 2}  # unlisted
    (root / "EmoLabel").mkdir(parents=True)
    (root / "Image" / "aligned").mkdir(parents=True)
    lines = [f"train_{n:05d}.jpg {n % 7 + 1}" for n in sorted(numbers)]
    lines += [f"test_{n:04d}.jpg {n % 7 + 1}" for n in sorted(numbers)]
    (root / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    for line in lines:
        stem = line.split(".")[0]
        (root / "Image" / "aligned" / f"{stem}_aligned.jpg").write_bytes(JPEG)
    return root


def _affectnet_tree(root):
    """AffectNet's CSVs: every listed image in validation.csv (folders and expression codes
    0-7 unrelated to RAN's class folders), two unlisted ones, and training.csv of others."""
    listed = sorted({n.lower() for names in _ran_names("affectnet").values() for n in names})
    unlisted = [f"{i:056x}" for i in range(4)]
    images = root / "Manually_Annotated_Images"
    for split_file, stems in (("validation.csv", listed + unlisted[:2]),
                              ("training.csv", unlisted[2:])):
        rows = ["subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
                "expression,valence,arousal"]
        for i, stem in enumerate(stems):
            name = f"{i % 5 + 1}/{stem}.{'JPG' if i % 4 else 'jpg'}"
            (images / name).parent.mkdir(parents=True, exist_ok=True)
            (images / name).write_bytes(JPEG)
            rows.append(f"{name},0,0,1,1,,{i % 8},0.1,0.2")
        (root / split_file).write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    root = tmp_path_factory.mktemp("ran")
    return {"rafdb": load_dataset("rafdb", _rafdb_tree(root / "rafdb")),
            "affectnet": load_dataset("affectnet8", _affectnet_tree(root / "affectnet"))}


@needs_lists
@pytest.mark.parametrize("dataset, list_file", list(RAN_LISTS))
def test_ran_list_counts_and_duplicates(dataset, list_file):
    rows, distinct, duplicated = RAN_LISTS[dataset, list_file]
    listing = read_subset_list(SHARED / dataset / "challenge-condition" / list_file)
    assert (len(listing.names), len(listing.duplicates)) == (distinct, duplicated)
    assert len(listing.names) + sum(len(v) - 1 for v in listing.duplicates.values()) == rows


@needs_lists
@pytest.mark.parametrize("dataset, right_split", [("rafdb", "test"), ("affectnet", "valid")])
def test_ran_lists_match_all_names_in_the_right_split_only(trees, dataset, right_split):
    data = trees[dataset]
    assert set(data.splits) == {"train", right_split}
    listed = False
    for (list_dataset, list_file), (_, distinct, _) in RAN_LISTS.items():
        names = load_subset_list(SHARED / list_dataset / "challenge-condition" / list_file)
        for split in data.splits:
            mask, unmatched = match_subset(data.split(split), names)
            if list_dataset == dataset and split == right_split:
                assert (int(mask.sum()), unmatched) == (distinct, 0), list_file
                listed = listed | mask
            else:  # the wrong split, or another dataset's list
                assert (int(mask.sum()), unmatched) == (0, distinct), (list_file, split)
    assert int((~listed).sum()) == 2  # the two unlisted images stay out of every subset

@needs_lists
def test_affectnet7_leaves_the_listed_contempt_images_unmatched(trees, tmp_path):
    valid = load_dataset("affectnet7", _affectnet_tree(tmp_path)).split("valid")
    contempt = trees["affectnet"].split("valid").query("label == 7")
    for list_file, names in _ran_names("affectnet").items():
        mask, unmatched = match_subset(valid, names)
        listed_contempt = int(match_subset(contempt, names)[0].sum())
        assert listed_contempt > 0 and unmatched == listed_contempt, list_file
        assert int(mask.sum()) == len(names) - listed_contempt


# round 2 blind mutants (issue 34)

def test_unmatched_counts_list_names_not_rows():
    # The raw FERPlus pair keeps duplicate names as distinct rows: one listed name matches two rows
    # here while another listed name matches none. Distinct names: 3; matched: 2; unmatched: 1.
    table = pd.DataFrame({"name": ["fer0000001.png", "fer0000001.png", "fer0000002.png", "fer0000009.png"]})
    mask, unmatched = match_subset(table, ["fer0000001.jpg", "fer0000002.png", "fer0000003.png"])
    assert mask.tolist() == [True, True, True, False]
    assert unmatched == 1


# ---- round 7 blind mutants (issue 34)

def test_an_image_listed_under_two_spellings_keeps_the_first(tmp_path):
    # Line 1 (occlusion format) gives "test_0003_aligned", line 3 (pose format) "test_0003.jpg": both have
    # the match key test_0003, so it is one name, spelt as first listed, with lines 1 and 3.
    (tmp_path / "mixed.txt").write_text("test_0003_aligned 3 4\ntest_0005_aligned 1 1\n0/test_0003.jpg\n")
    listing = read_subset_list(tmp_path / "mixed.txt")
    assert listing.names == ["test_0003_aligned", "test_0005_aligned"]
    assert listing.duplicates == {"test_0003_aligned": [1, 3]}


def test_the_duplicate_note_says_more_only_past_the_names_it_shows(tmp_path):
    # Three names each listed twice (lines 1-3 and 4-6): all three are shown, nothing is "more".
    (tmp_path / "three.txt").write_text("0/a.jpg\n0/b.jpg\n0/c.jpg\n" * 2)
    note = read_subset_list(tmp_path / "three.txt").duplicate_note()
    assert note == (f"{tmp_path / 'three.txt'}: 3 name(s) listed more than once, counted once: "
                    "a.jpg (lines 1, 4); b.jpg (lines 2, 5); c.jpg (lines 3, 6)")
    # A fourth (lines 4 and 8): three shown, "and 1 more".
    (tmp_path / "four.txt").write_text("0/a.jpg\n0/b.jpg\n0/c.jpg\n0/d.jpg\n" * 2)
    note = read_subset_list(tmp_path / "four.txt").duplicate_note()
    assert note.endswith("c.jpg (lines 3, 7); and 1 more")


# ---- round 9 blind mutants (issue 34)


def test_list_lines_with_spaces_around_them_are_read(tmp_path):
    """r9-subsets-line-not-stripped: a line padded with spaces or a tab ("0/fer0032226.jpg  ",
    "\\t1_fer0034656.png 8 0 ") names its image as the bare line does."""
    (tmp_path / "list.txt").write_text("0/fer0032226.jpg  \n\t1_fer0034656.png 8 0 \n")
    assert load_subset_list(tmp_path / "list.txt") == ["fer0032226.jpg", "fer0034656.png"]


# ---- issue 34: line-by-line sweep (subsets)


@pytest.mark.parametrize("line, name", [
    ("1_FER0034656.PNG 8 0", "FER0034656.PNG"),  # FERPlus occlusion, upper-case extension
    ("12_fer0034656.png\t8\t0", "fer0034656.png"),  # tab separated
    ("0/fer0032226.JPG", "fer0032226.JPG"),  # pose, upper-case extension
    ("3/fer0032226.jpeg", "fer0032226.jpeg"),
    ("3/a.bmp", "a.bmp"), ("3/a.gif", "a.gif"), ("3/a.tif", "a.tif"), ("3/a.tiff", "a.tiff"), ("3/a.webp", "a.webp"),
    ("test_0003 3 4", "test_0003"),  # RAF-DB occlusion without _aligned
    ("test_0003_aligned.jpg 3 4", "test_0003_aligned.jpg"),  # ... with an extension
    ("TEST_0003.JPG 3 4", "TEST_0003.JPG"),
    ("train_00012_aligned 1 2", "train_00012_aligned"),
])
def test_each_list_format_in_its_spellings(tmp_path, line, name):
    (tmp_path / "list.txt").write_text(line + "\n")
    assert load_subset_list(tmp_path / "list.txt") == [name]


@pytest.mark.parametrize("line", ["3/a.txt", "1_fer0034656.txt 8 0", "val_0003_aligned 3 4", "test_0003_aligned 3 x",
                                  f"0/my photos/{HEX}.jpg"])  # two tokens, though one part is a stem
def test_lines_with_other_extensions_or_prefixes_are_errors(tmp_path, line):
    (tmp_path / "list.txt").write_text(f"0/a.jpg\n{line}\n")
    with pytest.raises(DataError, match=r"list.txt line 2: expected one of"):
        load_subset_list(tmp_path / "list.txt")


def test_a_list_with_a_byte_order_mark_or_a_non_utf8_byte_is_read(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf0/fer0032226.jpg\n1/fer0032227.jpg\n")
    assert load_subset_list(tmp_path / "bom.txt") == ["fer0032226.jpg", "fer0032227.jpg"]
    (tmp_path / "latin1.txt").write_bytes(b"0/a.jpg\n0/caf\xe9.jpg\n")  # the byte is replaced, not a crash
    assert load_subset_list(tmp_path / "latin1.txt") == ["a.jpg", "caf\ufffd.jpg"]


def test_a_list_without_duplicates_has_no_note_and_logs_nothing(tmp_path, caplog):
    (tmp_path / "pose.txt").write_text(POSE)
    assert read_subset_list(tmp_path / "pose.txt").duplicate_note() is None
    with caplog.at_level(logging.WARNING):
        load_subset_list(tmp_path / "pose.txt")
    assert caplog.records == []


def test_match_key_lowers_only_affectnet_hex_stems():
    assert match_key("Fer0000001.PNG") == "Fer0000001"  # a FERPlus/RAF-DB name keeps its case
    assert match_key("7/" + HEX.upper() + ".JPG") == HEX
    assert match_key("test_0003_aligned.jpg") == "test_0003" and match_key("test_aligned_0003.jpg") == "test_aligned_0003"

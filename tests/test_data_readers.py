"""RAF-DB, AffectNet and folder-per-class readers on fixtures in their exact formats."""

import numpy as np
import pytest
from PIL import Image

from dsan_tf.data import DataError, load_dataset
from dsan_tf.data.classes import AFFECTNET7_CLASSES, AFFECTNET8_CLASSES, RAFDB_CLASSES
from dsan_tf.data.affectnet import COLUMNS


def write_jpg(path, size=(10, 12)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), 90, np.uint8)).save(path, "JPEG")


# ------------------------------------------------------------------ RAF-DB

def make_rafdb(root, lines, aligned=True):
    (root / "EmoLabel").mkdir(parents=True)
    (root / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    for line in filter(str.strip, lines):
        name = line.split()[0]
        stem = name.rsplit(".", 1)[0]
        write_jpg(root / "Image" / ("aligned" if aligned else "original")
                  / (f"{stem}_aligned.jpg" if aligned else name))


def test_rafdb_reader(tmp_path):
    make_rafdb(tmp_path, ["train_00001.jpg 5", "train_00002.jpg 1", "test_0001.jpg 7", ""])
    data = load_dataset("rafdb", tmp_path)
    assert data.class_names == RAFDB_CLASSES and data.splits == ("train", "test")
    train = data.split("train")
    assert train["name"].tolist() == ["train_00001.jpg", "train_00002.jpg"]
    assert [RAFDB_CLASSES[k] for k in train["label"]] == ["sadness", "surprise"]
    assert train["path"].iloc[0].endswith("Image/aligned/train_00001_aligned.jpg")
    assert data.split("test")["label"].tolist() == [6]
    assert any("no validation split" in n for n in data.report)


# The datasets' published label codes, written out here (not read from dsan_tf.data.classes): RAF-DB's
# README (basic emotions, list_patition_label.txt) and AffectNet's paper (Mollahosseini et al. 2017, Table 2).
RAFDB_PUBLISHED = {1: "surprise", 2: "fear", 3: "disgust", 4: "happiness", 5: "sadness", 6: "anger", 7: "neutral"}
AFFECTNET_PUBLISHED = {0: "neutral", 1: "happiness", 2: "sadness", 3: "surprise", 4: "fear", 5: "disgust",
                       6: "anger", 7: "contempt"}


def test_rafdb_reader_names_every_code_as_published(tmp_path):
    codes = list(RAFDB_PUBLISHED)
    make_rafdb(tmp_path, [f"train_{i:05d}.jpg {code}" for i, code in enumerate(codes, start=1)])
    data = load_dataset("rafdb", tmp_path)
    train = data.split("train")
    assert [data.class_names[k] for k in train["label"]] == [RAFDB_PUBLISHED[c] for c in codes]


def test_affectnet_reader_names_every_code_as_published(tmp_path):
    codes = list(AFFECTNET_PUBLISHED)
    make_affectnet(tmp_path, codes, [0])
    for name, count in (("affectnet8", 8), ("affectnet7", 7)):
        data = load_dataset(name, tmp_path)
        train = data.split("train")
        assert [data.class_names[k] for k in train["label"]] == [AFFECTNET_PUBLISHED[c] for c in codes[:count]]


def test_rafdb_original_images(tmp_path):
    make_rafdb(tmp_path, ["train_00001.jpg 5"], aligned=False)
    data = load_dataset("rafdb", tmp_path)
    assert data.table["path"].iloc[0].endswith("Image/original/train_00001.jpg")


@pytest.mark.parametrize("line, message", [
    ("train_00003.jpg 8", "line 2: label must be an integer 1..7"),
    ("train_00003.jpg", "line 2: expected '<name> <label 1..7>'"),
    ("val_00003.jpg 3", "line 2: image name must start with 'train_' or 'test_'"),
])
def test_rafdb_malformed_lines(tmp_path, line, message):
    make_rafdb(tmp_path, ["train_00001.jpg 5"])
    path = tmp_path / "EmoLabel" / "list_patition_label.txt"
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(DataError, match=message) as err:
        load_dataset("rafdb", tmp_path)
    assert "list_patition_label.txt" in str(err.value)


def test_rafdb_missing_files(tmp_path):
    with pytest.raises(DataError, match="list_patition_label.txt: RAF-DB label file not found"):
        load_dataset("rafdb", tmp_path)
    make_rafdb(tmp_path / "r", ["train_00001.jpg 5", "train_00002.jpg 3"])
    (tmp_path / "r" / "Image" / "aligned" / "train_00002_aligned.jpg").unlink()
    with pytest.raises(DataError, match="train_00002_aligned.jpg .*is missing"):
        load_dataset("rafdb", tmp_path / "r")
    data = load_dataset("rafdb", tmp_path / "r", skip_missing=True)
    assert len(data.table) == 1 and any("skipped 1" in n for n in data.report)


# ------------------------------------------------------------------ AffectNet

def affectnet_row(path, expression, box=(2, 3, 6, 5)):
    return f"{path},{box[0]},{box[1]},{box[2]},{box[3]},1.0;2.0;3.0;4.0,{expression},0.1,-0.2"


def make_affectnet(root, train_codes, valid_codes, header_in_valid=False):
    images = root / "Manually_Annotated_Images"
    for file_name, codes, header in [("training.csv", train_codes, True),
                                     ("validation.csv", valid_codes, header_in_valid)]:
        split = file_name[:5]
        lines = [",".join(COLUMNS)] if header else []
        for i, code in enumerate(codes):
            rel = f"{i % 3}/{split}{i}.jpg"
            write_jpg(images / rel)
            lines.append(affectnet_row(rel, code))
        (root / file_name).write_text("\n".join(lines) + "\n")


def test_affectnet_8_and_7(tmp_path):
    make_affectnet(tmp_path, [0, 1, 7, 8, 9, 10, 6], [7, 5, 3])
    data8 = load_dataset("affectnet8", tmp_path)
    assert data8.class_names == AFFECTNET8_CLASSES and data8.dataset == "affectnet8"
    assert data8.split("train")["label"].tolist() == [0, 1, 7, 6]
    assert data8.split("valid")["label"].tolist() == [7, 5, 3]
    assert data8.table["box"].iloc[0] == (2, 3, 6, 5)
    assert data8.table["name"].iloc[1] == "1/train1.jpg"
    assert any("no public test split" in n for n in data8.report)
    assert any("dropped by expression code: 8: 1, 9: 1, 10: 1" in n for n in data8.report)
    data7 = load_dataset("affectnet7", tmp_path)
    assert data7.class_names == AFFECTNET7_CLASSES
    assert data7.split("train")["label"].tolist() == [0, 1, 6]
    assert data7.split("valid")["label"].tolist() == [5, 3]
    assert len(data7.table["target"].iloc[0]) == 7


def test_affectnet_bad_input(tmp_path):
    make_affectnet(tmp_path, [0, 1], [2])
    (tmp_path / "validation.csv").write_text(affectnet_row("0/valid0.jpg", 11) + "\n")
    with pytest.raises(DataError, match=r"validation.csv line 1: expression must be a code 0..10"):
        load_dataset("affectnet8", tmp_path)
    (tmp_path / "validation.csv").write_text(affectnet_row("0/valid0.jpg", "x") + "\n")
    with pytest.raises(DataError, match=r"validation.csv line 1: face box and expression"):
        load_dataset("affectnet8", tmp_path)
    (tmp_path / "validation.csv").write_text("0/valid0.jpg,1,2\n")
    with pytest.raises(DataError, match=r"validation.csv line 1: expected 9 fields"):
        load_dataset("affectnet8", tmp_path)
    (tmp_path / "validation.csv").write_text(affectnet_row("0/valid0.jpg", 8) + "\n")
    with pytest.raises(DataError, match=r"validation.csv: no image left"):
        load_dataset("affectnet8", tmp_path)
    (tmp_path / "validation.csv").unlink()
    data = load_dataset("affectnet8", tmp_path)
    assert data.splits == ("train",) and any("validation.csv not found" in n for n in data.report)


# ------------------------------------------------------------------ folder per class

def test_folder_with_split_folders(tmp_path):
    for split, cls, n in [("train", "happy", 2), ("train", "sad", 1), ("val", "happy", 1)]:
        for i in range(n):
            write_jpg(tmp_path / split / cls / f"{i}.jpg")
    (tmp_path / "train" / "sad" / "notes.txt").write_text("x")
    data = load_dataset("folder", tmp_path)
    assert data.class_names == ("happy", "sad") and data.splits == ("train", "valid")
    assert data.split("train")["label"].tolist() == [0, 0, 1]
    assert data.split("train")["name"].tolist() == ["happy/0.jpg", "happy/1.jpg", "sad/0.jpg"]
    assert any("ignored 1 file" in n for n in data.report)
    assert any("no folder for class(es) ['sad']" in n for n in data.report)


def test_folder_without_split_folders_and_given_classes(tmp_path):
    write_jpg(tmp_path / "b" / "x.jpg")
    write_jpg(tmp_path / "a" / "y.png")
    data = load_dataset("folder", tmp_path, class_names=("b", "a", "c"), split="test")
    assert data.class_names == ("b", "a", "c") and data.splits == ("test",)
    assert sorted(data.table["label"].tolist()) == [0, 1]
    with pytest.raises(DataError, match="class folder 'a' is not one of the classes"):
        load_dataset("folder", tmp_path, class_names=("b",))


def test_folder_bad_input(tmp_path):
    with pytest.raises(DataError, match="image folder not found"):
        load_dataset("folder", tmp_path / "nope")
    (tmp_path / "train").mkdir()
    (tmp_path / "happy").mkdir()
    with pytest.raises(DataError, match="mixes split folders and class folders"):
        load_dataset("folder", tmp_path)
    (tmp_path / "train").rmdir()
    with pytest.raises(DataError, match="no image files"):
        load_dataset("folder", tmp_path)
    (tmp_path / "happy" / "x.jpg").write_bytes(b"GIF89?not really")
    with pytest.raises(DataError, match="x.jpg .*is not an image"):
        load_dataset("folder", tmp_path)


def test_registry_rejects_unknown_names_and_modes(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("ckplus", tmp_path)
    with pytest.raises(ValueError, match="FERPlus only"):
        load_dataset("rafdb", tmp_path, label_mode="probability")
    with pytest.raises(DataError, match="data_dir is required"):
        load_dataset("rafdb")


# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


def test_affectnet_face_boxes_are_rounded_to_the_nearest_pixel(tmp_path):
    """affectnet-box-truncated: 2.6, 3.4, 6.7, 5.2 -> (3, 3, 7, 5), not truncated to (2, 3, 6, 5)."""
    from dsan_tf.data.affectnet import read_annotation_csv

    path = tmp_path / "training.csv"
    path.write_text("0/a.jpg,2.6,3.4,6.7,5.2,1.0;2.0,3,0.1,-0.2\n0/b.jpg,10,20,30.5001,40.49,1.0;2.0,5,0.1,-0.2\n")
    rows = read_annotation_csv(path)
    assert [(name, box, code) for name, box, code, _ in rows] == [("0/a.jpg", (3, 3, 7, 5), 3),
                                                                  ("0/b.jpg", (10, 20, 31, 40), 5)]


def test_split_folders_are_recognised_whatever_their_case(tmp_path):
    """folder-split-names-case-sensitive: Train/ and Valid/ are the train and valid splits, not classes."""
    from PIL import Image

    from dsan_tf.data.folder import read_folder

    for rel in ("Train/happy/1.png", "Train/sad/2.png", "Valid/happy/3.png", "TEST/sad/4.png"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((12, 10, 3), 90, np.uint8)).save(path)
    data = read_folder(tmp_path)
    assert data.class_names == ("happy", "sad")
    assert sorted(data.splits) == ["test", "train", "valid"]
    assert data.split("train")["label"].tolist() == [0, 1] and data.split("test")["label"].tolist() == [1]


# round 2 blind mutants (issue 34)

def test_class_counts_have_one_entry_per_class_when_the_last_classes_are_absent(tmp_path):
    # train: codes 5, 1, 1 (sadness, surprise x2); test: code 2 (fear); neutral (code 7, the last) nowhere
    make_rafdb(tmp_path, ["train_00001.jpg 5", "train_00002.jpg 1", "train_00003.jpg 1", "test_0001.jpg 2"])
    data = load_dataset("rafdb", tmp_path)
    assert data.class_counts("train") == [2, 0, 0, 0, 1, 0, 0]
    assert data.summary() == {"train": {"count": 3, "class_counts": [2, 0, 0, 0, 1, 0, 0]},
                              "test": {"count": 1, "class_counts": [0, 1, 0, 0, 0, 0, 0]}}


# ---- lines its own tests never ran (issue 34)

def test_split_refusal_names_the_splits_there_are_and_extra_splits_come_last():
    from dsan_tf.data.table import LabelledImages, make_table, one_hot

    table = make_table(["test", "zeta", "train", "alpha"], list("abcd"), ["a", "b", "c", "d"], one_hot([0, 1, 2, 1], 3))
    data = LabelledImages("rafdb", ("x", "y", "z"), table)
    assert data.splits == ("train", "test", "alpha", "zeta")
    with pytest.raises(DataError, match=r"^rafdb: no 'valid' split; available splits: train, test, alpha, zeta$"):
        data.split("valid")
    assert data.split("alpha")["name"].tolist() == ["d"]
    empty = LabelledImages("folder", ("x",), table.iloc[:0])
    with pytest.raises(DataError, match=r"^folder: no 'train' split; available splits: none$"):
        empty.split("train")


def test_make_table_keeps_image_bytes_and_concat_of_nothing_is_an_empty_table():
    from dsan_tf.data.table import concat, make_table, one_hot

    table = make_table("train", ["a", "b"], ["", "/x/b.png"], [[0.2, 0.7, 0.1], [0.6, 0.3, 0.1]],
                       [(1, 2, 3, 4), None], [b"AAA", b""])
    assert table["image_bytes"].tolist() == [b"AAA", b""]
    assert table["label"].tolist() == [1, 0] and table["label"].dtype == np.int64
    assert table["box"].tolist() == [(1, 2, 3, 4), None] and table["split"].tolist() == ["train", "train"]
    nothing = concat([table.iloc[:0], table.iloc[:0]])
    assert nothing.empty and list(nothing.columns) == ["split", "name", "path", "label", "target", "box"]
    both = concat([table.iloc[:0], table.iloc[1:], make_table("test", ["c"], ["/c.png"], one_hot([2], 3))])
    assert both["name"].tolist() == ["b", "c"] and both.index.tolist() == [0, 1]


def test_image_problem_in_each_mode(tmp_path, monkeypatch):
    from dsan_tf.data import table as tbl

    good = tmp_path / "good.png"
    Image.fromarray(np.full((6, 9), 50, np.uint8)).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:30])  # a PNG signature, the body cut short
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"<html>gone</html>")
    missing = tmp_path / "missing.png"
    assert [tbl.image_problem(p, "none") for p in (good, cut, junk, missing)] == [None] * 4
    assert [tbl.image_problem(p, "exists") for p in (good, cut, junk, missing)] == [None, None, None, "missing"]
    assert [tbl.image_problem(p, "header") for p in (good, cut, junk, missing)] == [
        None, None, "not an image (not PNG/JPEG/GIF/BMP bytes)", "missing"]
    assert tbl.image_problem(good, "decode") is None
    assert tbl.image_problem(cut, "decode").startswith("not a decodable image (")
    assert tbl.image_problem(junk, "decode") == "not an image (not PNG/JPEG/GIF/BMP bytes)"

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tbl, "open", refused, raising=False)
    assert tbl.image_problem(good, "header") == "unreadable (Permission denied)"


def test_check_images_modes_in_memory_rows_and_the_skip_report(tmp_path):
    from dsan_tf.data.table import check_images, make_table, one_hot

    write_jpg(tmp_path / "ok.jpg")
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    names = ["m1", "gone1", "ok", "junk", "gone2", "mem"]
    paths = [tmp_path / "m1.jpg", tmp_path / "gone1.jpg", tmp_path / "ok.jpg", tmp_path / "junk.jpg",
             tmp_path / "gone2.jpg", ""]
    table = make_table("train", names, paths, one_hot([0, 1, 2, 0, 1, 2], 3))
    with pytest.raises(ValueError, match=r"check_images must be one of \('none', 'exists', 'header', 'decode'\), "
                                         r"got 'full'"):
        check_images(table, mode="full", skip_missing=False, report=[], what="w")
    assert check_images(table, mode="none", skip_missing=False, report=[], what="w") is table
    assert check_images(table.iloc[:0], mode="header", skip_missing=False, report=[], what="w").empty
    with pytest.raises(DataError, match=r"^labels.txt: image file \S*m1.jpg listed for 'm1' is missing; expected a "
                                        r"PNG/JPEG/GIF/BMP file \(and 4 more\)\. Pass skip_missing=True"):
        check_images(table, mode="header", skip_missing=False, report=[], what="labels.txt")  # "" too: no bytes
    with_bytes = table.assign(image_bytes=[b""] * 5 + [b"GIF89a"])
    report = []
    kept = check_images(with_bytes, mode="header", skip_missing=True, report=report, what="labels.txt")
    assert kept["name"].tolist() == ["ok", "mem"] and kept.index.tolist() == [0, 1]  # the in-memory row is not a file
    assert report == [f"labels.txt: skipped 3 row(s) whose image is missing (e.g. {tmp_path / 'm1.jpg'})",
                      f"labels.txt: skipped 1 row(s) whose image is not an image (e.g. {tmp_path / 'junk.jpg'})"]
    with pytest.raises(DataError, match=r"junk.jpg listed for 'junk' is not an image .*file\. Pass"):  # one: no "more"
        check_images(with_bytes.iloc[2:4], mode="header", skip_missing=False, report=[], what="w")


def test_rafdb_missing_folders_and_the_image_folder_asked_for(tmp_path):
    from dsan_tf.data.rafdb import read_rafdb

    with pytest.raises(DataError, match=r"nope: RAF-DB data folder not found"):
        read_rafdb(tmp_path / "nope")
    make_rafdb(tmp_path, ["train_00001.jpg 5", "test_0001.jpg 7"], aligned=False)
    with pytest.raises(DataError, match=r"Image/aligned: RAF-DB image folder not found"):
        read_rafdb(tmp_path, aligned=True)
    write_jpg(tmp_path / "Image" / "aligned" / "train_00001_aligned.jpg")
    write_jpg(tmp_path / "Image" / "aligned" / "test_0001_aligned.jpg")
    assert read_rafdb(tmp_path).split("train")["path"].iloc[0].endswith("Image/aligned/train_00001_aligned.jpg")
    original = read_rafdb(tmp_path, aligned=False)  # asked for: the originals though aligned ones exist
    assert original.split("test")["path"].iloc[0].endswith("Image/original/test_0001.jpg")
    assert original.report[0].endswith("2 rows; images from " + str(tmp_path.resolve() / "Image" / "original"))


def test_affectnet_blank_rows_and_missing_folders(tmp_path):
    from dsan_tf.data.affectnet import read_affectnet, read_annotation_csv

    with pytest.raises(ValueError, match="AffectNet has 7 or 8 classes, got num_classes=6"):
        read_affectnet(tmp_path, 6)
    with pytest.raises(DataError, match=r"nope: AffectNet data folder not found"):
        read_affectnet(tmp_path / "nope")
    with pytest.raises(DataError, match=r"Manually_Annotated_Images: AffectNet image folder not found; expected "
                                        r"Manually_Annotated_Images/<subDirectory_filePath>"):
        read_affectnet(tmp_path)
    (tmp_path / "Manually_Annotated_Images").mkdir()
    with pytest.raises(DataError, match=r"expected AffectNet's training.csv and/or validation.csv"):
        read_affectnet(tmp_path)
    (tmp_path / "validation.csv").write_text("\n" + affectnet_row("0/a.jpg", 3) + "\n\n" + affectnet_row("0/b.jpg", 4)
                                             + "\n")
    rows = read_annotation_csv(tmp_path / "validation.csv")
    assert [(r[0], r[2], r[3]) for r in rows] == [("0/a.jpg", 3, 2), ("0/b.jpg", 4, 4)]  # lines as in the file
    elsewhere = tmp_path / "pictures"
    write_jpg(elsewhere / "0" / "a.jpg")
    write_jpg(elsewhere / "0" / "b.jpg")
    data = read_affectnet(tmp_path, image_dir=elsewhere)
    assert data.split("valid")["path"].tolist() == [str(elsewhere / "0" / "a.jpg"), str(elsewhere / "0" / "b.jpg")]


def test_folder_refuses_an_unreadable_class_folder_and_a_tree_without_classes(tmp_path, monkeypatch):
    from script_loader import refuse_walking_into

    from dsan_tf.data.folder import read_folder

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no class folders; expected <class>/images or <split>/<class>/images"):
        read_folder(tmp_path / "empty")
    write_jpg(tmp_path / "tree" / "happy" / "1.jpg")
    write_jpg(tmp_path / "tree" / "sad" / "locked" / "2.jpg")
    assert read_folder(tmp_path / "tree").split("train")["name"].tolist() == ["happy/1.jpg", "sad/locked/2.jpg"]
    refuse_walking_into(monkeypatch, "locked")
    with pytest.raises(DataError, match=r"sad/locked: folder cannot be read \(Permission denied\); its images were "
                                        r"skipped; fix its permissions or move it out of the data folder"):
        read_folder(tmp_path / "tree")


# ---- round 3 blind mutants (issue 34)


def test_hidden_folders_are_no_classes_and_upper_case_suffixes_are_images(tmp_path):
    """r3-folder-hidden-class-folders, r3-images-suffix-case: a notebook's .ipynb_checkpoints beside the class
    folders is not a class; a camera's IMG_0001.JPG is an image like x.jpg."""
    write_jpg(tmp_path / "train" / "happy" / "IMG_0001.JPG")
    write_jpg(tmp_path / "train" / "happy" / "x.jpg")
    write_jpg(tmp_path / "train" / "sad" / "y.PNG")
    write_jpg(tmp_path / "train" / ".ipynb_checkpoints" / "z.jpg")
    data = load_dataset("folder", tmp_path)
    assert data.class_names == ("happy", "sad")
    assert data.split("train")["name"].tolist() == ["happy/IMG_0001.JPG", "happy/x.jpg", "sad/y.PNG"]


# ---- round 4 blind mutants (issue 34)


def test_the_header_check_accepts_each_format_tensorflow_decodes(tmp_path):
    """PNG, JPEG, GIF and BMP written by Pillow start with their signatures (\\x89PNG, \\xff\\xd8\\xff, GIF8,
    BM): the cheap check passes all four; TIFF (II*\\0), which TensorFlow cannot decode, is refused."""
    from dsan_tf.data.table import image_problem

    face = Image.fromarray(np.full((6, 9, 3), 120, np.uint8))
    for suffix in ("png", "jpg", "gif", "bmp", "tif"):
        face.save(tmp_path / f"face.{suffix}")
    assert (tmp_path / "face.bmp").read_bytes()[:2] == b"BM"
    problems = {s: image_problem(tmp_path / f"face.{s}", "header") for s in ("png", "jpg", "gif", "bmp", "tif")}
    assert problems == {"png": None, "jpg": None, "gif": None, "bmp": None,
                        "tif": "not an image (not PNG/JPEG/GIF/BMP bytes)"}


def test_the_class_vocabularies_in_label_order():
    """FERPlus: the 8 emotions of label.csv's vote columns, in their order (unknown and NF are no classes);
    AffectNet-7 is AffectNet-8 without contempt (code 7)."""
    from dsan_tf.data.classes import FERPLUS_CLASSES

    assert FERPLUS_CLASSES == ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
    assert AFFECTNET8_CLASSES == ("neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger",
                                  "contempt")
    assert AFFECTNET7_CLASSES == AFFECTNET8_CLASSES[:7] and "contempt" not in AFFECTNET7_CLASSES
    assert len(RAFDB_CLASSES) == 7 and set(RAFDB_CLASSES) == set(AFFECTNET7_CLASSES)


# ---- round 6 blind mutants (issue 34)


def test_affectnet_annotation_files_inside_the_file_lists_folder_are_found(tmp_path):
    """r6-affectnet-file-lists-folder-name: the release ships training.csv and validation.csv in
    Manually_Annotated_file_lists/; read from there they give both splits, not "not found"."""
    make_affectnet(tmp_path, [0, 1, 2], [3, 4])
    lists = tmp_path / "Manually_Annotated_file_lists"
    lists.mkdir()
    for name in ("training.csv", "validation.csv"):
        (tmp_path / name).rename(lists / name)
    data = load_dataset("affectnet8", tmp_path)
    assert data.split("train")["label"].tolist() == [0, 1, 2]  # the codes written above
    assert data.split("valid")["label"].tolist() == [3, 4]
    assert not any("not found" in note for note in data.report)


# ---- round 7 blind mutants (issue 34)

def test_rafdb_aligned_name_goes_before_the_last_dot_only(tmp_path):
    # RAF-DB's aligned images insert "_aligned" before the extension: a name with a second dot keeps it.
    make_rafdb(tmp_path, ["train_00001.v2.jpg 5", "test_0001.jpg 7"])
    train = load_dataset("rafdb", tmp_path).split("train")
    assert train["name"].tolist() == ["train_00001.v2.jpg"]
    assert train["path"].iloc[0].endswith("Image/aligned/train_00001.v2_aligned.jpg")


def test_affectnet_file_paths_lose_the_spaces_around_them(tmp_path):
    # A CSV written with ", " separators: the path " 0/a.jpg " is the image 0/a.jpg.
    from dsan_tf.data.affectnet import read_annotation_csv

    path = tmp_path / "training.csv"
    path.write_text(" 0/a.jpg ,2,3,6,5,1.0;2.0,3,0.1,-0.2\n")
    assert [(name, box, code) for name, box, code, _ in read_annotation_csv(path)] == [("0/a.jpg", (2, 3, 6, 5), 3)]


# ---- round 8 blind mutants (issue 34)

def test_rafdb_label_list_with_a_byte_order_mark_reads_its_first_line(tmp_path):
    # A label list saved as "UTF-8 with BOM" (Windows editors): the mark is not part of the first name,
    # so train_00001.jpg (label 5, RAFDB_CLASSES[4] = sadness) is read as written.
    from dsan_tf.data.rafdb import read_label_list

    path = tmp_path / "list_patition_label.txt"
    path.write_bytes(b"\xef\xbb\xbftrain_00001.jpg 5\ntest_0001.jpg 7\n")
    assert read_label_list(path) == [("train", "train_00001.jpg", 4, 1), ("test", "test_0001.jpg", 6, 2)]


# ---- round 9 blind mutants (issue 34)


def test_an_affectnet_header_with_a_padded_first_name_is_still_the_header(tmp_path):
    """r9-affectnet-header-with-spaces: a header whose first field is padded (" subDirectory_filePath ",
    as a hand-edited or re-exported CSV writes it) is skipped as the header, not refused as a data row; the
    one data row after it is read (its name stripped too)."""
    from dsan_tf.data.affectnet import read_annotation_csv

    path = tmp_path / "training.csv"
    path.write_text(" subDirectory_filePath ," + ",".join(COLUMNS[1:]) + "\n0/a.jpg,2,3,6,5,1.0;2.0,3,0.1,-0.2\n")
    assert [(name, box, code, line) for name, box, code, line in read_annotation_csv(path)] == [
        ("0/a.jpg", (2, 3, 6, 5), 3, 2)]


# ---- issue 34: line-by-line sweep (rafdb)


def test_rafdb_aligned_name_of_a_name_without_extension():
    from dsan_tf.data.rafdb import aligned_name

    assert aligned_name("train_00001") == "train_00001_aligned"
    assert aligned_name("test_0001.png") == "test_0001_aligned.png"


@pytest.mark.parametrize("label", ["0", "-1", "5.0", "five"])
def test_rafdb_labels_outside_1_to_7_are_refused_naming_the_line(tmp_path, label):
    from dsan_tf.data.rafdb import read_label_list

    path = tmp_path / "list_patition_label.txt"
    path.write_text(f"train_00001.jpg 7\ntrain_00002.jpg {label}\n")
    with pytest.raises(DataError, match=rf"list_patition_label.txt line 2: label must be an integer 1..7, got '{label}'"):
        read_label_list(path)


def test_rafdb_fields_split_on_any_whitespace_and_a_blank_file_is_empty(tmp_path):
    from dsan_tf.data.rafdb import read_label_list

    path = tmp_path / "list_patition_label.txt"
    path.write_text("  train_00001.jpg\t1  \r\n\n test_0002.jpg   7\n")
    assert read_label_list(path) == [("train", "train_00001.jpg", 0, 1), ("test", "test_0002.jpg", 6, 3)]
    path.write_text("\n \n\t\n")
    with pytest.raises(DataError, match=r"list_patition_label.txt: label file is empty$"):
        read_label_list(path)


def test_rafdb_passes_the_image_check_mode_and_refuses_when_nothing_is_left(tmp_path):
    from dsan_tf.data.rafdb import read_rafdb

    make_rafdb(tmp_path, ["train_00001.jpg 5", "test_0001.jpg 7"])
    (tmp_path / "Image" / "aligned" / "test_0001_aligned.jpg").write_bytes(b"<html>not an image</html>")
    with pytest.raises(DataError, match=r"test_0001_aligned.jpg .*is not an image"):
        read_rafdb(tmp_path)
    assert len(read_rafdb(tmp_path, check_images="exists").table) == 2  # "exists" does not read the bytes
    assert read_rafdb(tmp_path, skip_missing=True).splits == ("train",)
    (tmp_path / "Image" / "aligned" / "train_00001_aligned.jpg").unlink()
    image_dir = tmp_path.resolve() / "Image" / "aligned"
    with pytest.raises(DataError, match=rf"list_patition_label.txt: no image left; expected image files under "
                                        rf"{image_dir}$"):
        read_rafdb(tmp_path, skip_missing=True)


def test_readers_find_a_data_folder_under_home_from_tilde(tmp_path, monkeypatch):
    from dsan_tf.data.affectnet import read_affectnet
    from dsan_tf.data.folder import read_folder
    from dsan_tf.data.rafdb import read_rafdb

    make_rafdb(tmp_path / "raf", ["train_00001.jpg 5"])
    make_affectnet(tmp_path / "aff", [0, 1], [2])
    write_jpg(tmp_path / "faces" / "happy" / "a.jpg")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert read_rafdb("~/raf").table["label"].tolist() == [4]
    assert read_affectnet("~/aff").splits == ("train", "valid")
    assert read_affectnet("~/aff", image_dir="~/aff/Manually_Annotated_Images").splits == ("train", "valid")
    assert read_folder("~/faces").class_names == ("happy",)


# ---- issue 34: line-by-line sweep (affectnet)


def test_affectnet_csv_beside_the_data_folder_wins_over_the_file_lists_folder(tmp_path):
    make_affectnet(tmp_path, [0, 1, 2], [3])
    (tmp_path / "Manually_Annotated_file_lists").mkdir()
    (tmp_path / "Manually_Annotated_file_lists" / "training.csv").write_text(affectnet_row("0/train0.jpg", 6) + "\n")
    data = load_dataset("affectnet8", tmp_path)
    assert data.split("train")["label"].tolist() == [0, 1, 2]


def test_affectnet_header_is_only_skipped_on_the_first_line(tmp_path):
    from dsan_tf.data.affectnet import read_annotation_csv

    path = tmp_path / "training.csv"
    path.write_text(affectnet_row("0/a.jpg", 3) + "\n" + ",".join(COLUMNS) + "\n")
    with pytest.raises(DataError, match=r"training.csv line 2: face box and expression must be numbers"):
        read_annotation_csv(path)
    path.write_text(",".join(COLUMNS) + "\n")
    with pytest.raises(DataError, match=r"training.csv: annotation file has no rows$"):
        read_annotation_csv(path)


@pytest.mark.parametrize("box, code, message", [
    ((2, 3, 6, 5), -1, r"line 2: expression must be a code 0..10, got -1"),
    ((2, 3, 0, 5), 3, r"line 2: face_width/face_height must be > 0, got \(2, 3, 0, 5\)"),
    ((2, 3, 6, 0), 3, r"line 2: face_width/face_height must be > 0, got \(2, 3, 6, 0\)"),
    ((2, 3, 0.4, 5), 3, r"line 2: face_width/face_height must be > 0, got \(2, 3, 0, 5\)"),  # rounds to 0
    ((2, 3, 6, -5), 3, r"line 2: face_width/face_height must be > 0, got \(2, 3, 6, -5\)"),
])
def test_affectnet_bad_codes_and_empty_boxes_are_refused_naming_the_line(tmp_path, box, code, message):
    from dsan_tf.data.affectnet import read_annotation_csv

    path = tmp_path / "training.csv"
    path.write_text(affectnet_row("0/a.jpg", 0) + "\n" + affectnet_row("0/b.jpg", code, box) + "\n")
    with pytest.raises(DataError, match=r"training.csv " + message):
        read_annotation_csv(path)


def test_affectnet_one_pixel_boxes_and_the_edge_codes_are_accepted(tmp_path):
    from dsan_tf.data.affectnet import read_annotation_csv

    path = tmp_path / "training.csv"
    path.write_text(affectnet_row("0/a.jpg", 0, (0, 0, 1, 1)) + "\n" + affectnet_row("0/b.jpg", 10, (-4, 7, 1, 2)) + "\n")
    assert [(r[1], r[2]) for r in read_annotation_csv(path)] == [((0, 0, 1, 1), 0), ((-4, 7, 1, 2), 10)]


def test_affectnet_report_lines_count_rows_kept_and_dropped_by_code(tmp_path):
    make_affectnet(tmp_path, [0, 1, 7, 8, 9, 10, 6], [7, 5, 3])
    root = tmp_path.resolve()
    data8 = load_dataset("affectnet8", tmp_path)
    assert (f"{root / 'training.csv'}: 7 rows, 4 kept for AffectNet-8; dropped by expression code: 8: 1, 9: 1, 10: 1"
            in data8.report)
    assert f"{root / 'validation.csv'}: 3 rows, 3 kept for AffectNet-8; dropped by expression code: none" in data8.report
    data7 = load_dataset("affectnet7", tmp_path)
    assert (f"{root / 'training.csv'}: 7 rows, 3 kept for AffectNet-7; dropped by expression code: 7: 1, 8: 1, 9: 1, "
            "10: 1") in data7.report
    assert f"{root / 'validation.csv'}: 3 rows, 2 kept for AffectNet-7; dropped by expression code: 7: 1" in data7.report


def test_affectnet_passes_the_image_check_mode_and_refuses_when_nothing_is_left(tmp_path):
    from dsan_tf.data.affectnet import read_affectnet

    make_affectnet(tmp_path, [0, 1], [2])
    images = tmp_path / "Manually_Annotated_Images"
    (images / "1" / "train1.jpg").write_bytes(b"<html>not an image</html>")
    with pytest.raises(DataError, match=r"train1.jpg .*is not an image"):
        read_affectnet(tmp_path)
    assert len(read_affectnet(tmp_path, check_images="exists").split("train")) == 2
    assert read_affectnet(tmp_path, skip_missing=True).split("train")["name"].tolist() == ["0/train0.jpg"]
    (images / "0" / "valid0.jpg").unlink()
    with pytest.raises(DataError, match=rf"validation.csv: no image left; expected image files under "
                                        rf"{images.resolve()}$"):
        read_affectnet(tmp_path, skip_missing=True)


# ---- issue 34: line-by-line sweep (folder)


def test_folder_passes_the_image_check_mode_dataset_name_and_refuses_when_nothing_is_left(tmp_path):
    from dsan_tf.data.folder import read_folder

    write_jpg(tmp_path / "happy" / "a.jpg")
    (tmp_path / "sad").mkdir()
    (tmp_path / "sad" / "b.jpg").write_bytes(b"<html>not an image</html>")
    assert len(read_folder(tmp_path, check_images="exists").table) == 2
    data = read_folder(tmp_path, skip_missing=True, dataset="mine")
    assert data.dataset == "mine" and data.table["name"].tolist() == ["happy/a.jpg"]
    assert read_folder(tmp_path, check_images="none").dataset == "folder"
    (tmp_path / "happy" / "a.jpg").write_bytes(b"junk")
    with pytest.raises(DataError, match=rf"{tmp_path.resolve()}: no image left; expected readable images in the "
                                        r"class folders$"):
        read_folder(tmp_path, skip_missing=True)


def test_folder_validation_folder_and_classes_from_every_split(tmp_path):
    from dsan_tf.data.folder import read_folder

    write_jpg(tmp_path / "train" / "happy" / "a.jpg")
    write_jpg(tmp_path / "validation" / "sad" / "b.jpg")  # "sad" only in the validation split
    data = read_folder(tmp_path)
    assert data.class_names == ("happy", "sad") and data.splits == ("train", "valid")
    assert data.split("valid")["label"].tolist() == [1]
    given = read_folder(tmp_path, ["sad", "happy", "angry"])  # a list: label order as given
    assert given.class_names == ("sad", "happy", "angry") and given.split("train")["label"].tolist() == [1]


def test_affectnet_dropped_codes_are_listed_in_code_order_whatever_the_row_order(tmp_path):
    make_affectnet(tmp_path, [10, 1, 8, 9, 8], [2])
    data = load_dataset("affectnet8", tmp_path)
    assert (f"{tmp_path.resolve() / 'training.csv'}: 5 rows, 1 kept for AffectNet-8; dropped by expression code: "
            "8: 2, 9: 1, 10: 1") in data.report


def test_folder_files_beside_the_class_folders_are_no_classes(tmp_path):
    from dsan_tf.data.folder import read_folder

    write_jpg(tmp_path / "happy" / "a.jpg")
    write_jpg(tmp_path / "stray.jpg")  # a file, not a class folder
    (tmp_path / "README.txt").write_text("labels by folder")
    data = read_folder(tmp_path)
    assert data.class_names == ("happy",) and data.table["name"].tolist() == ["happy/a.jpg"]


def test_rafdb_and_folder_name_their_dataset_and_classes_in_the_report(tmp_path):
    from dsan_tf.data.folder import read_folder

    make_rafdb(tmp_path / "raf", ["train_00001.jpg 5"])
    assert load_dataset("rafdb", tmp_path / "raf").dataset == "rafdb"
    write_jpg(tmp_path / "faces" / "sad" / "a.jpg")
    write_jpg(tmp_path / "faces" / "happy" / "b.jpg")
    data = read_folder(tmp_path / "faces")
    assert data.report[0] == f"{(tmp_path / 'faces').resolve()}: classes ['happy', 'sad']"


@pytest.mark.parametrize("line, message", [
    ("train_00003.jpg 5 3", r"line 2: expected '<name> <label 1..7>', got 'train_00003.jpg 5 3'"),
    ("Train_00003.jpg 5", r"line 2: image name must start with 'train_' or 'test_', got 'Train_00003.jpg'"),
])
def test_rafdb_a_third_field_or_a_capitalised_split_is_refused(tmp_path, line, message):
    from dsan_tf.data.rafdb import read_label_list

    path = tmp_path / "list_patition_label.txt"
    path.write_text(f"train_00001.jpg 5\n{line}\n")
    with pytest.raises(DataError, match=message):
        read_label_list(path)


def test_affectnet_a_row_with_a_field_too_many_is_refused(tmp_path):
    from dsan_tf.data.affectnet import read_annotation_csv

    path = tmp_path / "training.csv"
    path.write_text(affectnet_row("0/a.jpg", 3) + "\n" + affectnet_row("0/b.jpg", 3) + ",extra\n")
    with pytest.raises(DataError, match=r"training.csv line 2: expected 9 fields \(subDirectory_filePath,.*\), got 10"):
        read_annotation_csv(path)


# ---- round 10 blind mutants (issue 34)
def test_rafdb_split_is_the_name_before_its_first_underscore(tmp_path):
    """r10-rafdb-split-from-last-part: 'test_0003_aligned.jpg' (a name holding a second underscore) is in
    the test split, not refused as split 'test_0003'."""
    from dsan_tf.data.rafdb import read_label_list

    labels = tmp_path / "list_patition_label.txt"
    labels.write_text("train_00001.jpg 5\ntest_0003_aligned.jpg 2\n")
    assert read_label_list(labels) == [("train", "train_00001.jpg", 4, 1), ("test", "test_0003_aligned.jpg", 1, 2)]

"""Sharded TFRecords: round trip, crop with the table's box, resume, refusals."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

tf = pytest.importorskip("tensorflow")

from dsan_tf.data.errors import DataError  # noqa: E402
from dsan_tf.data.tfrecords import tfrecord_source, write_tfrecords  # noqa: E402

CLASSES = ("neutral", "happiness", "surprise")


def _png(array) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def _image(seed, h=24, w=32):
    """Smooth gradients (JPEG keeps them nearly intact) with a per-image offset."""
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 6 + seed * 20, yy * 8 + seed * 10, (xx + yy) * 3 + seed * 30], -1)
    return (rgb % 256).astype(np.uint8)


def _table(tmp_path, n=7):
    """n rows: PNG files, one with a face box, one carried as image_bytes (no path)."""
    rows, originals = [], {}
    for i in range(n):
        array = _image(i)
        name = f"img{i}.png"
        path, data = tmp_path / "src" / name, None
        if i == n - 1:
            path, data = "", _png(array)
        else:
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(_png(array))
        box = (4, 2, 16, 12) if i == 0 else None
        target = np.eye(len(CLASSES), dtype=np.float32)[i % len(CLASSES)]
        if i == 1:
            target = np.array([0.5, 0.3, 0.2], np.float32)  # soft label survives
        rows.append({"split": "train", "name": name, "path": str(path), "label": int(target.argmax()),
                     "target": target, "box": box, "image_bytes": data})
        originals[name] = (array, box, target)
    return pd.DataFrame(rows), originals


def _same(decoded, array, box) -> bool:
    """Untouched rows keep their PNG bytes (pixel-exact); boxed rows are the JPEG'd crop."""
    if box is None:
        return decoded.shape == array.shape and np.array_equal(decoded, array)
    x, y, w, h = box
    crop = array[y:y + h, x:x + w].astype(int)
    return decoded.shape == crop.shape and np.abs(decoded.astype(int) - crop).mean() < 4


def _read_all(source):
    return [{k: v.numpy() for k, v in el.items()} for el in source]


def test_round_trip_crop_and_resume(tmp_path):
    table, originals = _table(tmp_path)
    out = tmp_path / "records"
    manifest = write_tfrecords(table, CLASSES, out, split="train", num_shards=3, progress=False)
    assert manifest["count"] == 7 and len(manifest["shards"]) == 3
    assert manifest["class_names"] == list(CLASSES)

    # Simulated interruption: the manifest and one shard are gone; a rerun rewrites only that.
    shards = [out / s["file"] for s in manifest["shards"]]
    mtimes = {p.name: p.stat().st_mtime_ns for p in shards}
    (out / "train.manifest.json").unlink()
    shards[1].unlink()
    again = write_tfrecords(table, CLASSES, out, split="train", num_shards=3, progress=False)
    assert again["shards"] == manifest["shards"] and again["count"] == 7
    assert shards[0].stat().st_mtime_ns == mtimes[shards[0].name]
    assert shards[2].stat().st_mtime_ns == mtimes[shards[2].name]
    assert not list(out.glob("*.tmp"))

    elements = _read_all(tfrecord_source(out, len(CLASSES)))
    assert len(elements) == 7
    seen = set()
    for el in elements:
        assert el["box"].tolist() == [-1, -1, -1, -1]
        decoded = tf.io.decode_image(el["image_bytes"], channels=3).numpy()
        matches = [n for n, (arr, box, _) in originals.items() if _same(decoded, arr, box)]
        assert len(matches) == 1, f"stored image matches {matches}"
        seen.add(matches[0])
        np.testing.assert_array_equal(el["target"], originals[matches[0]][2])
    assert seen == set(originals)


def test_refuses_other_classes_and_bad_input(tmp_path):
    table, _ = _table(tmp_path, n=4)
    out = tmp_path / "records"
    write_tfrecords(table, CLASSES, out, split="train", num_shards=2, progress=False)
    with pytest.raises(DataError, match="expected \\['anger'"):
        tfrecord_source(out, 3, class_names=("anger", "fear", "disgust"))
    with pytest.raises(DataError, match="num_classes=8"):
        tfrecord_source(out, 8)
    with pytest.raises(DataError, match="no manifest for split 'valid'"):
        tfrecord_source(out, 3, split="valid")
    # Another table into the same folder: refused, not mixed.
    other = table.iloc[:3]
    with pytest.raises(DataError, match="another table"):
        write_tfrecords(other, CLASSES, out, split="train", num_shards=2, progress=False)

    # A missing file and garbage bytes: a DataError naming the file, or counted skips.
    bad = table.copy()
    (tmp_path / "src" / "junk.png").write_bytes(b"not an image at all")
    bad.loc[0, "path"] = str(tmp_path / "src" / "missing.png")
    bad.loc[1, "path"] = str(tmp_path / "src" / "junk.png")
    with pytest.raises(DataError, match="missing.png"):
        write_tfrecords(bad, CLASSES, tmp_path / "bad", split="train", num_shards=1,
                        progress=False, seed=None)
    manifest = write_tfrecords(bad, CLASSES, tmp_path / "bad2", split="train", num_shards=1,
                               progress=False, skip_bad=True)
    assert manifest["count"] == 2 and len(manifest["skipped"]) == 2
    assert any("junk.png" in s for s in manifest["skipped"])
    assert json.loads((tmp_path / "bad2" / "train.manifest.json").read_text())["count"] == 2


def test_truncated_shard_and_input_context(tmp_path):
    table, _ = _table(tmp_path, n=6)
    out = tmp_path / "records"
    manifest = write_tfrecords(table, CLASSES, out, split="train", num_shards=2, progress=False)
    names = []
    for i in range(2):
        ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=i)
        names.append({el["target"].tobytes() + el["image_bytes"] for el in
                      _read_all(tfrecord_source(out, 3, input_context=ctx))})
    assert names[0].isdisjoint(names[1]) and len(names[0] | names[1]) == 6
    assert len(_read_all(tfrecord_source(str(out / "train-*.tfrecord"), 3))) == 6

    # image_size shrinks (aspect kept) before storing; "path" names shard and image.
    small = write_tfrecords(table, CLASSES, tmp_path / "small", split="train", num_shards=1,
                            image_size=16, crop_boxes=False, progress=False)
    elements = _read_all(tfrecord_source(tmp_path / "small", 3))
    assert small["count"] == 6
    assert {tf.io.decode_image(el["image_bytes"]).shape[:2] for el in elements} == {(12, 16)}
    assert all(el["path"].decode().startswith(str(tmp_path / "small")) for el in elements)

    shard = out / manifest["shards"][0]["file"]
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated"):
        tfrecord_source(out, 3)


# ---- round 4 blind mutants (issue 34)


def test_shard_size_rounds_the_number_of_shards_up(tmp_path):
    table, _ = _table(tmp_path, n=7)
    by3 = write_tfrecords(table, CLASSES, tmp_path / "by3", split="train", shard_size=3, progress=False)
    # ceil(7 / 3) = 3 shards; np.array_split spreads 7 rows as 3, 2, 2.
    assert [s["count"] for s in by3["shards"]] == [3, 2, 2]
    assert [s["file"] for s in by3["shards"]] == [f"train-0000{i}-of-00003.tfrecord" for i in range(3)]
    # 7 rows at the default 2048 a shard: one shard, not none.
    default = write_tfrecords(table, CLASSES, tmp_path / "default", split="train", progress=False)
    assert [s["count"] for s in default["shards"]] == [7]


def test_tfrecords_command_writes_the_train_split_by_default(tmp_path):
    """r4-tfrecords-default-split-valid: without --split the command writes the training split only: the
    embedded sample's 288 training images (its data summary), no valid manifest."""
    from script_loader import load_script

    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    out = tmp_path / "records"
    command = load_script("make_tfrecords")
    assert command.main(["--dataset", "ferplus", "--data-dir", str(SAMPLE_FERPLUS_DIR), "--output", str(out),
                         "--no-progress"]) == 0
    assert sorted(p.name for p in out.glob("*.manifest.json")) == ["train.manifest.json"]
    assert json.loads((out / "train.manifest.json").read_text())["count"] == 288


def test_label_mode_probability_is_for_ferplus_only(tmp_path, capsys):
    """r4-tfrecords-label-mode-check-inverted: --label-mode probability is FERPlus' (vote distributions); with
    FERPlus it is taken, with a one-label dataset it is an argument error."""
    from dsan_tf.cli import parse_command_args

    flags = ["--data-dir", str(tmp_path), "--output", str(tmp_path / "out"), "--label-mode", "probability"]
    _, args = parse_command_args("tfrecords", ["--dataset", "ferplus", *flags])
    assert args.label_mode == "probability"
    with pytest.raises(SystemExit) as stop:
        parse_command_args("tfrecords", ["--dataset", "rafdb", *flags])
    assert stop.value.code == 2 and "FERPlus only" in capsys.readouterr().err


# ---- round 6 blind mutants (issue 34)


def test_a_rerun_rewrites_a_shard_whose_size_differs_from_its_record(tmp_path):
    """r6-tfrecords-shard-size-not-checked-on-resume: a shard cut short after its write finished (a disk
    error, a bad copy) is written again by a rerun, not trusted because its .done.json exists."""
    table, _ = _table(tmp_path, n=6)
    out = tmp_path / "records"
    manifest = write_tfrecords(table, CLASSES, out, split="train", num_shards=2, progress=False)
    shard = out / manifest["shards"][0]["file"]
    size = manifest["shards"][0]["bytes"]
    shard.write_bytes(shard.read_bytes()[:-10])
    again = write_tfrecords(table, CLASSES, out, split="train", num_shards=2, progress=False)
    assert shard.stat().st_size == size == again["shards"][0]["bytes"]
    assert len(_read_all(tfrecord_source(out, 3))) == 6


def test_a_box_past_the_right_and_bottom_edges_of_a_wide_image_is_clipped_to_them():
    """r6-tfrecords-crop-right-bottom-swapped: on a 32 x 24 (wide) image the box x=20, y=10, 20 x 20 is
    clipped to the image's right edge (x 32) and bottom edge (y 24): the stored crop is
    array[10:24, 20:32], 12 wide and 14 high, and no note."""
    from dsan_tf.data.tfrecords import prepare_image

    array = _image(3)  # 24 high, 32 wide
    data, note = prepare_image(_png(array), "face.png", (20, 10, 20, 20), True, None, 95)
    assert note is None
    with Image.open(io.BytesIO(data)) as stored:
        crop = np.asarray(stored.convert("RGB")).astype(int)
    assert crop.shape == (14, 12, 3)
    assert np.abs(crop - array[10:24, 20:32].astype(int)).mean() < 4  # JPEG quality 95


def test_the_command_crops_with_the_face_boxes_unless_no_crop(tmp_path, monkeypatch):
    """r6-tfrecords-crop-inverted: the command crops each image with the dataset's face box by default and stores
    it uncropped only with --no-crop (the writer is a stand-in recording what the command asked of it)."""
    import dsan_tf.data.tfrecords
    from script_loader import load_script

    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    asked = []

    def writer(data, class_names, output, **options):
        asked.append(options["crop_boxes"])
        return {"count": 0, "shards": [], "skipped": [], "notes": []}

    monkeypatch.setattr(dsan_tf.data.tfrecords, "write_tfrecords", writer)
    command = load_script("make_tfrecords")
    for number, extra in enumerate(([], ["--no-crop"])):
        assert command.main(["--dataset", "ferplus", "--data-dir", str(SAMPLE_FERPLUS_DIR), "--no-progress",
                             "--output", str(tmp_path / f"records{number}"), *extra]) == 0
    assert asked == [True, False]


# ---- round 8 blind mutants (issue 34)
def test_skip_bad_lets_the_reader_skip_a_missing_image(tmp_path, monkeypatch, capsys):
    """r8-tfrecords-skip-bad-not-passed-to-reader: a copy of the embedded sample whose fer0000274.png (a
    training face with a clear majority, 9 anger votes of 10) is missing: without --skip-bad the command stops
    with exit 2 naming the file; with it the reader drops that row and the writer gets 288 - 1 = 287 training
    images (the writer is a stand-in recording what it was given, as above)."""
    import shutil

    import dsan_tf.data.tfrecords
    from script_loader import load_script

    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    data_dir = tmp_path / "ferplus"
    shutil.copytree(SAMPLE_FERPLUS_DIR, data_dir)
    (data_dir / "FER2013Train" / "fer0000274.png").unlink()
    given = []

    def writer(data, class_names, output, **options):
        given.append(len(data.split(options["split"])))
        return {"count": given[-1], "shards": [], "skipped": [], "notes": []}

    monkeypatch.setattr(dsan_tf.data.tfrecords, "write_tfrecords", writer)
    command = load_script("make_tfrecords")
    argv = ["--dataset", "ferplus", "--data-dir", str(data_dir), "--no-progress"]
    assert command.main([*argv, "--output", str(tmp_path / "refused")]) == 2
    assert "fer0000274.png" in capsys.readouterr().err and given == []
    assert command.main([*argv, "--output", str(tmp_path / "records"), "--skip-bad"]) == 0
    assert given == [287]


# ---- issue 34: every refusal of the writer and the reader, each in its own case


def _tiny_table(tmp_path, splits=("train",), n=2):
    rows = []
    for split in splits:
        for i in range(n):
            rows.append({"split": split, "name": f"{split}{i}.png", "path": "", "label": i % len(CLASSES),
                         "target": np.eye(len(CLASSES), dtype=np.float32)[i % len(CLASSES)], "box": None,
                         "image_bytes": _png(_image(i, h=12, w=20))})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("kwargs, error, phrase", [
    ({"num_shards": 1, "shard_size": 2}, ValueError, "not both"),
    ({"jpeg_quality": 0}, ValueError, "jpeg_quality must be 1..100, got 0"),
    ({"jpeg_quality": 101}, ValueError, "jpeg_quality must be 1..100, got 101"),
    ({"num_shards": 0}, ValueError, "num_shards must be >= 1, got 0"),
    ({"split": "tr/ain"}, DataError, "no 'tr/ain' split"),
])
def test_the_writer_refuses_impossible_settings_before_writing(tmp_path, kwargs, error, phrase):
    out = tmp_path / "records"
    with pytest.raises(error, match=phrase.replace(".", "\\.").replace("(", "\\(")):
        write_tfrecords(_tiny_table(tmp_path), CLASSES, out, progress=False, **{"split": "train", **kwargs})
    assert not out.exists() or not any(out.iterdir())


def test_the_writer_takes_the_quality_bounds_themselves(tmp_path):
    for quality in (1, 100):
        manifest = write_tfrecords(_tiny_table(tmp_path), CLASSES, tmp_path / f"q{quality}", split="train",
                                   num_shards=1, jpeg_quality=quality, progress=False)
        assert manifest["count"] == 2


def test_a_split_name_that_cannot_name_files_is_refused(tmp_path):
    table = _tiny_table(tmp_path)
    table["split"] = "a/b"
    with pytest.raises(ValueError, match="'a/b' cannot name files"):
        write_tfrecords(table, CLASSES, tmp_path / "records", progress=False)


def test_the_table_refusals_name_what_is_wrong(tmp_path):
    two = _tiny_table(tmp_path, splits=("train", "valid"))
    with pytest.raises(DataError, match=r"several splits \['train', 'valid'\]; pass split="):
        write_tfrecords(two, CLASSES, tmp_path / "a", progress=False)
    with pytest.raises(DataError, match=r"no 'test' split; available: \['train', 'valid'\]"):
        write_tfrecords(two, CLASSES, tmp_path / "b", split="test", progress=False)
    # one split present and none named: that split is written
    assert write_tfrecords(_tiny_table(tmp_path), CLASSES, tmp_path / "c", progress=False)["count"] == 2
    without = _tiny_table(tmp_path).drop(columns=["split"])
    with pytest.raises(ValueError, match="no 'split' column"):
        write_tfrecords(without, CLASSES, tmp_path / "d", progress=False)
    assert write_tfrecords(without, CLASSES, tmp_path / "e", split="extra", progress=False)["count"] == 2
    with pytest.raises(ValueError, match="class_names is required"):
        write_tfrecords(_tiny_table(tmp_path), None, tmp_path / "f", progress=False)
    with pytest.raises(DataError, match="no 'train' split; available: none"):
        write_tfrecords(_tiny_table(tmp_path).iloc[:0], CLASSES, tmp_path / "g", split="train", progress=False)
    with pytest.raises(DataError, match="split 'train' has no rows to write"):
        write_tfrecords(without.iloc[:0], CLASSES, tmp_path / "h", split="train", progress=False)


def test_the_dataset_s_own_class_names_must_match_the_ones_given(tmp_path):
    from types import SimpleNamespace

    data = SimpleNamespace(table=_tiny_table(tmp_path), class_names=CLASSES, dataset="ferplus")
    reordered = (CLASSES[1], CLASSES[0], CLASSES[2])
    with pytest.raises(DataError, match="differ from the dataset's own"):
        write_tfrecords(data, reordered, tmp_path / "a", progress=False)
    # None: the dataset's own names are used and stored
    manifest = write_tfrecords(data, None, tmp_path / "b", progress=False)
    assert tuple(manifest["class_names"]) == CLASSES


def test_a_row_refusal_names_the_row_and_what_it_holds(tmp_path):
    table = _tiny_table(tmp_path)
    table.loc[1, "image_bytes"] = b""
    with pytest.raises(DataError, match="row 'train1.png': neither a path nor image_bytes"):
        write_tfrecords(table, CLASSES, tmp_path / "a", progress=False)
    table = _tiny_table(tmp_path)
    table["target"] = [np.ones(2, np.float32)] * 2
    with pytest.raises(DataError, match="target has 2 values, expected 3 classes"):
        write_tfrecords(table, CLASSES, tmp_path / "b", progress=False)
    table["target"] = [np.full(4, 0.25, np.float32)] * 2  # one value too many is as wrong as one too few
    with pytest.raises(DataError, match="target has 4 values, expected 3 classes"):
        write_tfrecords(table, CLASSES, tmp_path / "b2", progress=False)
    table = _tiny_table(tmp_path)
    table["box"] = [(1, 2, 3), None]
    with pytest.raises(DataError, match=r"row 'train0.png': box must be \(x, y, w, h\), got \(1, 2, 3\)"):
        write_tfrecords(table, CLASSES, tmp_path / "c", progress=False)
    table = _tiny_table(tmp_path)
    table.loc[0, "image_bytes"] = b"\x89PNG not really"
    with pytest.raises(DataError, match="image_bytes of 'train0.png': not a decodable image"):
        write_tfrecords(table, CLASSES, tmp_path / "d", progress=False)


def test_a_scalar_label_becomes_its_one_hot_target(tmp_path):
    table = _tiny_table(tmp_path)
    table["target"] = None
    table["label"] = [2, 0]
    out = tmp_path / "records"
    write_tfrecords(table, CLASSES, out, progress=False, seed=None, num_shards=1)
    targets = sorted(tuple(el["target"]) for el in _read_all(tfrecord_source(out, 3)))
    assert targets == [(0.0, 0.0, 1.0), (1.0, 0.0, 0.0)]


def test_every_row_unreadable_writes_nothing(tmp_path):
    table = _tiny_table(tmp_path)
    table["image_bytes"] = [b"junk", b"more junk"]
    with pytest.raises(DataError, match="every row of split 'train' was unreadable; nothing written"):
        write_tfrecords(table, CLASSES, tmp_path / "records", progress=False, skip_bad=True)


def test_the_reader_refusals_name_the_folder_shard_or_pattern(tmp_path):
    from dsan_tf.data.tfrecords import check_classes, read_manifest

    with pytest.raises(DataError, match="TFRecord folder not found"):
        read_manifest(tmp_path / "nowhere")
    with pytest.raises(DataError, match="nowhere.manifest.json: TFRecord manifest not found"):
        read_manifest(tmp_path / "nowhere.manifest.json")
    with pytest.raises(DataError, match="no TFRecord shard matches this pattern"):
        tfrecord_source(str(tmp_path / "none-*.tfrecord"), 3)

    out = tmp_path / "records"
    write_tfrecords(_tiny_table(tmp_path, splits=("train", "valid")), CLASSES, out, split="train",
                    num_shards=1, progress=False)
    write_tfrecords(_tiny_table(tmp_path, splits=("train", "valid")), CLASSES, out, split="valid",
                    num_shards=1, progress=False)
    with pytest.raises(DataError, match=r"expected exactly one <split>.manifest.json, found "
                                         r"\['train.manifest.json', 'valid.manifest.json'\]"):
        read_manifest(out)
    assert read_manifest(out, "valid")[0]["split"] == "valid"
    assert read_manifest(out / "train.manifest.json")[0]["split"] == "train"
    with pytest.raises(DataError, match="records hold 3-class targets, expected num_classes=4"):
        tfrecord_source(str(out / "train-*.tfrecord"), 4)
    with pytest.raises(ValueError, match="class_names and num_classes disagree"):
        tfrecord_source(str(out / "train-*.tfrecord"), 3, class_names=CLASSES[:2])
    manifest, _ = read_manifest(out, "train")
    check_classes(manifest, "here", 3, CLASSES)  # the matching names and count pass
    shard = out / manifest["shards"][0]["file"]
    shard.unlink()
    with pytest.raises(DataError, match="shard listed in the manifest is missing"):
        tfrecord_source(out, 3, split="train")
    empty = tmp_path / "empty-00000.tfrecord"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="TFRecord shard is empty"):
        tfrecord_source(str(tmp_path / "empty-*.tfrecord"), 3)

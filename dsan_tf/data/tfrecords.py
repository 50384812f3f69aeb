"""Sharded TFRecords: write a dataset table once, stream it when it does not fit in memory.

AffectNet has 287k images: decoding them from scattered JPEGs each epoch is slow and
holding them in memory impossible. `write_tfrecords` stores each image once (cropped
with the dataset's own face box, optionally shrunk) in N shards; `tfrecord_source`
reads the shards in parallel and yields the same elements as
`dsan_tf.data.pipeline.source_from_table`, so `make_dataset_from_source` does the rest.

Writing is resumable: rows go to shards by a seeded permutation fixed by a fingerprint
of the table and settings; a shard is written to `*.tmp` and renamed, then a small
`*.done.json` records it; a rerun skips shards already done. The manifest
(`<split>.manifest.json`: class names, count, shard list) is written last, so its
presence means the split is complete.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

from dsan_tf.data.errors import DataError
from dsan_tf.state_files import StateFileError, decode_state, parse_json_state, read_json_state

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
NO_BOX = (-1, -1, -1, -1)
DEFAULT_SHARD_SIZE = 2048


# ------------------------------------------------------------------ names ----

def shard_name(split: str, index: int, num_shards: int) -> str:
    return f"{split}-{index:05d}-of-{num_shards:05d}.tfrecord"


def manifest_name(split: str) -> str:
    return f"{split}.manifest.json"


def _plan_name(split: str) -> str:
    return f"{split}.plan.json"


def _done_name(shard: str) -> str:
    return shard + ".done.json"


def _write_json_atomic(path: Path, obj) -> None:
    from dsan_tf.outputs import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=1, sort_keys=True))


# ---------------------------------------------------------------- writing ----

def _split_table(data, class_names, split):
    """(table rows of `split`, class names, dataset name) from LabelledImages or a DataFrame."""
    table = getattr(data, "table", data)
    own = getattr(data, "class_names", None)
    if class_names is None:
        if own is None:
            raise ValueError("class_names is required when a bare table is given")
        class_names = own
    class_names = tuple(str(c) for c in class_names)
    if own is not None and tuple(own) != class_names:
        raise DataError(f"class_names {class_names} differ from the dataset's own {tuple(own)}")
    dataset = getattr(data, "dataset", "")
    if "split" in table.columns:
        present = sorted(set(table["split"]))
        if split is None:
            if len(present) != 1:
                raise DataError(f"{dataset or 'table'}: several splits {present}; pass split=")
            split = present[0]
        if split not in present:
            raise DataError(f"{dataset or 'table'}: no '{split}' split; available: {present or 'none'}")
        table = table[table["split"] == split]
    elif split is None:
        raise ValueError("the table has no 'split' column: pass split= to name the output")
    table = table.reset_index(drop=True)
    if table.empty:
        raise DataError(f"{dataset or 'table'}: split '{split}' has no rows to write")
    return table, class_names, dataset, str(split)


def _row_source(row) -> tuple:
    """(bytes or None, path or '', how to name this row in messages)."""
    data = getattr(row, "image_bytes", None)
    path = str(getattr(row, "path", "") or "")
    if isinstance(data, (bytes, bytearray)) and len(data) > 0:
        return bytes(data), path, f"image_bytes of '{row.name}'"
    if not path:
        raise DataError(f"row '{row.name}': neither a path nor image_bytes")
    return None, path, path


def _row_target(row, num_classes: int, where: str) -> np.ndarray:
    target = getattr(row, "target", None)
    if target is None or (np.isscalar(target) and not isinstance(target, (list, tuple))):
        target = np.eye(num_classes, dtype=np.float32)[int(row.label)]
    target = np.asarray(target, dtype=np.float32).reshape(-1)
    if target.shape != (num_classes,):
        raise DataError(f"{where}: target has {target.size} values, expected {num_classes} classes")
    return target


def _row_box(row):
    box = getattr(row, "box", None)
    if box is None or (isinstance(box, float) and math.isnan(box)):
        return None
    box = tuple(int(round(float(v))) for v in box)
    if len(box) != 4:
        raise DataError(f"row '{row.name}': box must be (x, y, w, h), got {box}")
    return box


def fingerprint_rows(table, class_names, settings: dict) -> str:
    """Hash of everything that decides the shard contents, so a resume never mixes tables."""
    digest = hashlib.sha256()
    digest.update(json.dumps([list(class_names), settings], sort_keys=True).encode())
    for row in table.itertuples(index=False):
        data, path, _ = _row_source(row)
        digest.update(repr((str(row.name), path, _row_box(row))).encode())
        digest.update(_row_target(row, len(class_names), str(row.name)).tobytes())
        if data is not None:
            digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def prepare_image(data: bytes, where: str, box, crop_boxes: bool, image_size, jpeg_quality: int):
    """Decode to check the bytes, crop/shrink if asked; -> (bytes to store, note or None).

    Untouched images keep their original bytes (no second JPEG loss). A box is clipped to
    the image as `preprocess.crop_to_box` does; one wholly outside keeps the whole image
    (the in-memory pipeline's behaviour) and is noted.
    """
    from PIL import Image

    from dsan_tf.data.preprocess import pil_to_rgb

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = img.copy()
    except Exception as err:  # PIL raises many types for corrupt data
        what = "the file is empty" if not data else f"{type(err).__name__}: {err}"
        raise DataError(f"{where}: not a decodable image ({what})") from None
    if img.mode not in ("L", "RGB"):  # 16-bit, palette, CMYK, alpha: the pixels TensorFlow decodes
        img = Image.fromarray(pil_to_rgb(img))
    note = None
    changed = False
    if crop_boxes and box is not None:
        x, y, w, h = box
        x0, y0 = min(max(x, 0), img.width), min(max(y, 0), img.height)
        x1, y1 = min(max(x + w, 0), img.width), min(max(y + h, 0), img.height)
        if (x0, y0, x1, y1) == (0, 0, img.width, img.height):
            pass  # FERPlus' boxes span the whole 48x48 image: keep the original bytes
        elif w > 0 and h > 0 and x1 > x0 and y1 > y0:
            img = img.crop((x0, y0, x1, y1))
            changed = True
        else:
            note = f"{where}: box {box} lies outside the {img.width}x{img.height} image; whole image kept"
    if image_size and max(img.size) > image_size:
        scale = image_size / max(img.size)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.BILINEAR, reducing_gap=3.0)
        changed = True
    if not changed:
        return data, note
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=int(jpeg_quality))
    return out.getvalue(), note


def _encode_row(row, class_names, crop_boxes, image_size, jpeg_quality, skip_bad):
    """-> (serialized tf.train.Example or None, note/skip reason or None). Runs in threads."""
    import tensorflow as tf

    try:
        data, path, where = _row_source(row)
        if data is None:
            try:
                data = Path(path).read_bytes()
            except FileNotFoundError:
                raise DataError(f"{path}: image file listed for '{row.name}' does not exist") from None
            except OSError as err:
                raise DataError(f"{path}: cannot read ({err.strerror})") from None
        target = _row_target(row, len(class_names), where)
        image, note = prepare_image(data, where, _row_box(row), crop_boxes, image_size, jpeg_quality)
    except DataError as err:
        if skip_bad:
            return None, str(err)
        raise
    feature = {
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image])),
        "target": tf.train.Feature(float_list=tf.train.FloatList(value=target.tolist())),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(np.argmax(target))])),
        "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(row.name).encode()])),
    }
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example.SerializeToString(), note


def _shard_done(out_dir: Path, shard: str):
    """The shard's record if it finished in an earlier run (file present, size as recorded)."""
    done = out_dir / _done_name(shard)
    path = out_dir / shard
    if not done.exists() or not path.exists():
        return None
    try:
        info = read_json_state(done, _DONE_SCHEMA, what="a finished shard's record")
    except StateFileError as error:  # a damaged record: the shard is written again, not trusted
        log.warning("%s; writing the shard again", error)
        return None
    return info if path.stat().st_size == info["bytes"] else None


# What the readers rely on in tfrecords' own state files (anything else in them is informative).
_DONE_SCHEMA = {"count": int, "bytes": int, "skipped?": list, "notes?": list}
_MANIFEST_SCHEMA = {"class_names": [str], "count": int, "shards": [{"file": str, "count": int, "bytes": int}],
                    "fingerprint?": str}


def _read_plan(plan_path: Path) -> dict:
    return read_json_state(plan_path, {"fingerprint": str}, what="the plan of an unfinished TFRecord write",
                           hint="delete it (and the split's shards) to write the split again")


def _clear_split(out_dir: Path, split: str) -> None:
    """Delete the files of ``split`` this module writes, by their exact names: shards, their
    records, the manifest and the plan (never e.g. ``train-00000-of-00002.tfrecord.bak``)."""
    import re

    shard = re.compile(rf"{re.escape(split)}-\d{{5}}-of-\d{{5}}\.tfrecord(\.done\.json)?")
    for path in out_dir.iterdir():
        if shard.fullmatch(path.name) and path.is_file():
            path.unlink()
    for name in (manifest_name(split), _plan_name(split)):
        (out_dir / name).unlink(missing_ok=True)


def write_tfrecords(labelled_images_or_table, class_names: Sequence[str] | None, out_dir, *,
                    split: str | None = None, num_shards: int | None = None,
                    shard_size: int | None = None, crop_boxes: bool = True,
                    image_size: int | None = None, jpeg_quality: int = 95,
                    progress: bool = True, skip_bad: bool = False, seed: int | None = 0,
                    workers: int | None = None, overwrite: bool = False) -> dict:
    """Write one split as sharded TFRecords into `out_dir`; returns the manifest dict.

    `num_shards` or `shard_size` (default 2048 images a shard) sets the sharding.
    `image_size`: shrink images whose longer side exceeds it (aspect kept, never
    enlarged) before storing. `skip_bad`: count and list unreadable rows in the manifest
    instead of stopping at the first (DataError naming the file). `seed`: rows are
    spread over shards by this permutation (None keeps table order), so every shard
    holds a class mix. A rerun with the same table and settings resumes; different
    ones raise unless `overwrite=True`.
    """
    if num_shards is not None and shard_size is not None:
        raise ValueError("give num_shards or shard_size, not both")
    if not 1 <= int(jpeg_quality) <= 100:
        raise ValueError(f"jpeg_quality must be 1..100, got {jpeg_quality}")
    table, class_names, dataset, split = _split_table(labelled_images_or_table, class_names, split)
    if "/" in split or not split:
        raise ValueError(f"split name {split!r} cannot name files")
    count = len(table)
    if num_shards is None:
        num_shards = math.ceil(count / (shard_size or DEFAULT_SHARD_SIZE))
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    num_shards = min(int(num_shards), count)  # no empty shards
    settings = {"format_version": FORMAT_VERSION, "split": split, "num_shards": num_shards,
                "crop_boxes": bool(crop_boxes), "image_size": image_size,
                "jpeg_quality": int(jpeg_quality), "skip_bad": bool(skip_bad), "seed": seed}
    fingerprint = fingerprint_rows(table, class_names, settings)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan_path = out_dir / _plan_name(split)
    if plan_path.exists() and _read_plan(plan_path)["fingerprint"] != fingerprint:
        if not overwrite:
            raise DataError(
                f"{plan_path}: {out_dir} already holds '{split}' shards written from another "
                "table or with other settings; use another output folder or overwrite=True")
        _clear_split(out_dir, split)
    elif not plan_path.exists():
        _clear_split(out_dir, split)  # stale files of an unknown write: never trust them
    manifest_path = out_dir / manifest_name(split)
    if manifest_path.exists():
        manifest = read_json_state(manifest_path, _MANIFEST_SCHEMA, what="the manifest of a TFRecord split",
                                   hint="delete it to write the split again")
        if manifest.get("fingerprint") == fingerprint and all(
                _shard_done(out_dir, s["file"]) for s in manifest["shards"]):
            return manifest
        manifest_path.unlink()
    _write_json_atomic(plan_path, {"fingerprint": fingerprint, **settings,
                                   "class_names": list(class_names), "count": count})

    order = np.arange(count) if seed is None else np.random.default_rng(seed).permutation(count)
    parts = np.array_split(order, num_shards)
    names = [shard_name(split, i, num_shards) for i in range(num_shards)]
    finished = {name: _shard_done(out_dir, name) for name in names}
    bar = None
    if progress:
        from tqdm import tqdm

        initial = sum(len(p) for p, n in zip(parts, names) if finished[n])
        bar = tqdm(total=count, initial=initial, unit="img", desc=f"tfrecords {split}")
    workers = workers or min(4, os.cpu_count() or 1)
    try:
        with ThreadPoolExecutor(workers) as pool:
            for name, part in zip(names, parts):
                if finished[name]:
                    continue
                rows = [table.iloc[int(i)] for i in part]
                finished[name] = _write_shard(out_dir, name, rows, pool, bar, class_names,
                                              crop_boxes, image_size, jpeg_quality, skip_bad)
    finally:
        if bar is not None:
            bar.close()

    shards = [{"file": n, "count": finished[n]["count"], "bytes": finished[n]["bytes"]} for n in names]
    manifest = {
        "format_version": FORMAT_VERSION, "dataset": dataset, "split": split,
        "class_names": list(class_names), "num_classes": len(class_names),
        "count": sum(s["count"] for s in shards), "rows_in_table": count,
        "shards": shards, "fingerprint": fingerprint,
        "skipped": [s for n in names for s in finished[n]["skipped"]],
        "notes": [s for n in names for s in finished[n]["notes"]],
        "settings": settings,
    }
    if manifest["count"] == 0:
        raise DataError(f"{out_dir}: every row of split '{split}' was unreadable; nothing written")
    _write_json_atomic(manifest_path, manifest)
    return manifest


class _Row:
    """Attribute view of a pandas row (Series attribute access collides with `.name`)."""

    def __init__(self, series):
        self.__dict__.update(series.to_dict())


def _write_shard(out_dir, name, rows, pool, bar, class_names, crop_boxes, image_size,
                 jpeg_quality, skip_bad) -> dict:
    import tensorflow as tf

    from dsan_tf.outputs import atomic_path

    path = out_dir / name
    info = {"count": 0, "bytes": 0, "skipped": [], "notes": []}
    views = [_Row(r) for r in rows]
    jobs = pool.map(lambda r: _encode_row(r, class_names, crop_boxes, image_size,
                                          jpeg_quality, skip_bad), views)
    with atomic_path(path) as tmp:  # renamed into place only when complete
        with tf.io.TFRecordWriter(str(tmp)) as writer:
            for (record, message), row in zip(jobs, views):
                if record is None:
                    info["skipped"].append(message)
                else:
                    writer.write(record)
                    info["count"] += 1
                    if message:
                        info["notes"].append(message)
                if bar is not None:
                    bar.update(1)
    info["bytes"] = path.stat().st_size
    _write_json_atomic(out_dir / _done_name(name), info)
    return info


# ---------------------------------------------------------------- reading ----

def read_manifest(directory_or_manifest, split: str | None = None) -> tuple:
    """-> (manifest dict, directory). DataError says why a folder has no usable manifest."""
    import tensorflow as tf

    path = str(directory_or_manifest)
    if path.endswith(".json"):
        if not tf.io.gfile.exists(path):
            raise DataError(f"{path}: TFRecord manifest not found")
        directory = os.path.dirname(path)
    else:
        directory = path
        if not tf.io.gfile.isdir(directory):
            raise DataError(f"{directory}: TFRecord folder not found")
        manifests = sorted(tf.io.gfile.glob(os.path.join(directory, "*.manifest.json")))
        if split is not None:
            path = os.path.join(directory, manifest_name(split))
            if not tf.io.gfile.exists(path):
                unfinished = tf.io.gfile.exists(os.path.join(directory, _plan_name(split)))
                why = ("its write did not finish: rerun the same write to resume it"
                       if unfinished else "no such split was written")
                found = [os.path.basename(m) for m in manifests]
                raise DataError(f"{path}: no manifest for split '{split}' ({why}); found {found}")
        elif len(manifests) == 1:
            path = manifests[0]
        else:
            found = [os.path.basename(m) for m in manifests]
            raise DataError(
                f"{directory}: expected exactly one <split>.manifest.json, found {found}; "
                "pass split= (or an unfinished write: rerun it to resume)")
    try:  # through gfile: a manifest may be remote (gs://...)
        with tf.io.gfile.GFile(path, "rb") as fh:
            data = fh.read()
    except tf.errors.OpError as err:
        raise StateFileError(f"{path} (the manifest of a TFRecord split): cannot be read "
                             f"({err.message.strip().splitlines()[0]})") from None
    what, hint = "the manifest of a TFRecord split", "not written by dsan tfrecords? write the split again"
    manifest = parse_json_state(decode_state(data, path, what, hint), path, _MANIFEST_SCHEMA, what, hint)
    return manifest, directory


def check_classes(manifest: dict, where: str, num_classes: int, class_names=None) -> None:
    """Refuse shards whose classes are not the ones the model is built/trained for."""
    stored = tuple(manifest["class_names"])
    if class_names is not None and tuple(class_names) != stored:
        raise DataError(
            f"{where}: TFRecords hold classes {list(stored)}, expected {list(class_names)}; "
            "labels would be misread: write the TFRecords from the matching dataset")
    if len(stored) != num_classes:
        raise DataError(f"{where}: TFRecords hold {len(stored)} classes {list(stored)}, "
                        f"expected num_classes={num_classes}")


def _parse_fn(num_classes: int):
    import tensorflow as tf

    spec = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "target": tf.io.FixedLenFeature([num_classes], tf.float32),
        "name": tf.io.FixedLenFeature([], tf.string, default_value=""),
    }

    def parse(item):
        ex = tf.io.parse_single_example(item["record"], spec)
        # "path" names the image in the pipeline's error messages: "<shard> : <name>".
        return {"image_bytes": ex["image"], "target": ex["target"],
                "box": tf.constant(NO_BOX, tf.int32),
                "path": tf.strings.join([item["file"], ex["name"]], separator=" : ")}

    return parse


def _peek_num_classes(shard: str) -> int:
    """Target length of a shard's first record (for glob input, which has no manifest)."""
    import tensorflow as tf

    for record in tf.data.TFRecordDataset(shard).take(1):
        example = tf.train.Example.FromString(record.numpy())
        return len(example.features.feature["target"].float_list.value)
    raise DataError(f"{shard}: TFRecord shard is empty")


def tfrecord_source(directory_or_pattern, num_classes: int, *, class_names=None,
                    split: str | None = None, input_context=None, shuffle_files: bool = False,
                    seed: int | None = None, cycle_length: int | None = None,
                    deterministic: bool | None = None):
    """tf.data.Dataset of {"image_bytes", "target", "box", "path"} from TFRecord shards.

    `directory_or_pattern`: a folder written by `write_tfrecords` (with `split=` when it
    holds several), a `<split>.manifest.json`, or a glob of shard files. Shards are read
    in parallel (interleave) and, with a `tf.distribute.InputContext`, split between
    input pipelines by file (by record when there are fewer shards than pipelines).
    Pass the result to `make_dataset_from_source(..., shard=False)` when an
    `input_context` was given here. Boxes are (-1,)*4: images were cropped when written;
    "path" is "<shard> : <image name>" for error messages. Mismatched classes, missing
    or truncated shards raise DataError here, not mid-epoch.
    """
    import tensorflow as tf

    text = str(directory_or_pattern)
    if any(ch in text for ch in "*?[") and not text.endswith(".json"):
        shards = sorted(tf.io.gfile.glob(text))
        if not shards:
            raise DataError(f"{text}: no TFRecord shard matches this pattern")
        found = _peek_num_classes(shards[0])
        if found != num_classes:
            raise DataError(f"{shards[0]}: records hold {found}-class targets, "
                            f"expected num_classes={num_classes}")
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError("class_names and num_classes disagree")
    else:
        manifest, directory = read_manifest(text, split)
        check_classes(manifest, text, num_classes, class_names)
        shards = []
        for shard in manifest["shards"]:
            path = os.path.join(directory, shard["file"])
            if not tf.io.gfile.exists(path):
                raise DataError(f"{path}: shard listed in the manifest is missing")
            size = tf.io.gfile.stat(path).length
            if size != shard["bytes"]:
                raise DataError(f"{path}: shard has {size} bytes, manifest says {shard['bytes']} "
                                "(truncated or replaced); rewrite the TFRecords")
            shards.append(path)

    files = tf.data.Dataset.from_tensor_slices(shards)
    record_shard = None
    if input_context is not None and input_context.num_input_pipelines > 1:
        n, i = input_context.num_input_pipelines, input_context.input_pipeline_id
        if len(shards) >= n:
            files = files.shard(n, i)
        else:
            record_shard = (n, i)
    if shuffle_files:
        files = files.shuffle(len(shards), seed=seed, reshuffle_each_iteration=True)
    def read_shard(file):
        return tf.data.TFRecordDataset(file).map(lambda r: {"record": r, "file": file})

    records = files.interleave(
        read_shard, cycle_length=min(len(shards), cycle_length or 8),
        block_length=1, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if record_shard is not None:
        records = records.shard(*record_shard)
    return records.map(_parse_fn(num_classes), num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=deterministic)

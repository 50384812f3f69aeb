"""dsan export savedmodel: export a trained DSAN (.keras, or the shipped model by name) as a TF Serving SavedModel version.

    dsan export savedmodel --weights ferplus --output models/dsan --version 1
    dsan export savedmodel --weights RUN/model.keras --output models/dsan --version 1

Writes ``models/dsan/1/`` (saved_model.pb, variables/, assets/labels.txt,
assets.extra/tf_serving_warmup_requests) atomically, refuses to replace an existing
version unless ``--overwrite``, and writes/updates ``models/models.config`` (the versions
to serve) and ``models/batching_parameters.txt`` beside the model folder. Only files this
command wrote (their first line says so) are updated: a ``models.config`` or
``batching_parameters.txt`` of your own is kept as it is, and the command writes
``models.config.dsan`` / ``batching_parameters.txt.dsan`` beside it instead (one line
says so) for you to merge. See export/README.md for the docker commands.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from dsan_tf.errors import UserError
from dsan_tf.serving_version import check_version  # (no TensorFlow: checked before it loads)
from dsan_tf.cli.validators import existing_file, int_in, model_reference, output_path, positive_int, text
from dsan_tf.serving_version import MAX_VERSION
from dsan_tf.cli import CommandParser


def build_parser(prog="dsan export savedmodel"):
    p = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, type=model_reference,
                   help="trained model (.keras), or a shipped model's name (ferplus)")
    p.add_argument("--output", required=True, type=output_path(),
                   help="model base directory, e.g. models/dsan (versions go in numbered subfolders)")
    p.add_argument("--version", required=True, type=int_in(1, MAX_VERSION),
                   help=f"version number: a positive integer up to {MAX_VERSION} (TF Serving's int64)")
    p.add_argument("--overwrite", action="store_true", help="replace the version if it exists")
    p.add_argument("--model-name", type=text("a model name"), default=None,
                   help="model name in TF Serving (default: output folder name)")
    p.add_argument("--config-dir", type=output_path(), default=None,
                   help="where models.config and batching_parameters.txt go (default: the output's parent)")
    p.add_argument("--serving-base-path", type=text("a path as the server sees it"), default=None,
                   help="base_path written in models.config: the model folder as the server sees it "
                        "(default: /models/<model-name>, the docker layout)")
    p.add_argument("--num-batch-threads", type=positive_int(1024), default=4,
                   help="num_batch_threads in batching_parameters.txt: the serving machine's cores (default 4)")
    p.add_argument("--warmup-images", nargs="*", type=existing_file, default=None,
                   help="images for the warmup requests (default: the embedded FERPlus sample)")
    return p


def check_args(p, args):
    try:
        args.version = check_version(args.version)
    except ValueError as err:
        p.error(f"--version: {err}")
    args.model_name = args.model_name or args.output.resolve().name
    if not args.model_name.strip() or any(c.isspace() or c == "/" for c in args.model_name):
        p.error(f"--model-name must be a non-empty name without spaces or '/', got {args.model_name!r}")
    args.config_dir = args.config_dir or args.output.resolve().parent
    args.serving_base_path = args.serving_base_path or f"/models/{args.model_name}"


def check_paths(args, target: Path) -> None:
    """Everything that can be checked on disk, before TensorFlow is imported and anything is written."""
    from dsan_tf.inference import ModelLoadError, check_model_exists, model_files
    from dsan_tf.io_utils import check_output_path

    if target.exists() and not args.overwrite:
        raise CommandError(f"{target} already exists; pass --overwrite to replace it")
    try:
        check_model_exists(args.weights)
    except ModelLoadError as err:
        raise CommandError(str(err)) from None
    inputs = [*model_files(args.weights), *(args.warmup_images or [])]
    check_output_path(args.output, inputs=inputs, folder=True)
    check_output_path(args.config_dir, inputs=inputs, folder=True, flag="--config-dir")
    for name, path in config_targets(args.config_dir).items():  # what is read (merged from) and what is written
        for item in {Path(args.config_dir) / name, path} - {None}:
            check_output_path(item, inputs=inputs, flag="--config-dir")
    # --overwrite deletes the old version folder: it must not hold an input.
    for item in inputs:
        if target.resolve() in item.resolve().parents:
            raise CommandError(f"{item} lies inside {target}, which the export replaces; "
                               "copy it elsewhere or export another version")
    from dsan_tf.data.images import IMAGE_SUFFIXES

    for image in args.warmup_images or []:
        if not image.is_file():
            raise CommandError(f"--warmup-images {image}: no such file")
        if image.suffix.lower() not in IMAGE_SUFFIXES:
            raise CommandError(f"--warmup-images {image}: TensorFlow cannot decode a '{image.suffix}' file in the "
                               f"serving graph; expected one of {' '.join(IMAGE_SUFFIXES)}")


def read_warmup_images(paths) -> list[bytes]:
    """Their bytes, each checked to decode as an image (the warmup decodes them in the graph)."""
    from dsan_tf.data.align import read_rgb

    import io

    from PIL import Image

    images = []
    for path in paths:
        data = path.read_bytes()
        read_rgb(path, data)  # DataError naming the file
        try:  # a TIFF (or other Pillow-only format) named .jpg: TensorFlow would fail in the warmup
            found = Image.open(io.BytesIO(data)).format
        except Exception:  # noqa: BLE001 - read_rgb decoded it; an odd format is refused below
            found = None
        if found not in ("JPEG", "PNG", "GIF", "BMP", "WEBP"):
            raise CommandError(f"--warmup-images {path}: a {found or 'unknown'} image, which TensorFlow cannot "
                               "decode in the serving graph; give JPEG, PNG, GIF, BMP or WebP images")
        images.append(data)
    return images


CONFIG_FILES = ("models.config", "batching_parameters.txt")
BESIDE = ".dsan"  # the suffix of the file written beside a user's own models.config / batching_parameters.txt


def config_targets(config_dir) -> dict:
    """{name: path to write (None: nothing)} for models.config and batching_parameters.txt: the file
    itself when new or written by this command, else ``NAME.dsan`` beside it (when that one is new or
    ours), else None: a user's file is never replaced."""
    from dsan_tf.export import made_by_export

    targets = {}
    for name in CONFIG_FILES:
        path = Path(config_dir) / name
        beside = path.with_name(name + BESIDE)
        if not os.path.lexists(path) or made_by_export(path):
            targets[name] = path
        elif not os.path.lexists(beside) or made_by_export(beside):
            targets[name] = beside
        else:
            targets[name] = None
    return targets


class CommandError(UserError):
    """A refusal to report in one line."""


def run(args) -> int:
    target = args.output / str(args.version)
    # Checked before TensorFlow is imported, so a refusal costs nothing.
    check_paths(args, target)
    images = read_warmup_images(args.warmup_images) if args.warmup_images else None

    from dsan_tf import export
    from dsan_tf.inference import ModelLoadError, load_dsan

    from dsan_tf.outputs import OutputPolicy

    config_path = Path(args.config_dir) / "models.config"
    targets = config_targets(args.config_dir)
    for path in {config_path, targets["models.config"]} - {None}:
        export.read_model_config(path)  # a malformed file stops the export before anything is written
    with contextlib.ExitStack() as stack:
        # Claimed (checked, locked) before the export; replaced only when this command wrote them.
        claimed = {}
        for name, path in targets.items():
            if path is not None:
                policy = stack.enter_context(OutputPolicy(command="export savedmodel", flag="--config-dir",
                                                          overwrite=os.path.lexists(path)))
                claimed[name] = (policy, policy.claim_file(path))
        try:
            model = load_dsan(args.weights)
        except ModelLoadError as err:
            raise CommandError(str(err)) from None
        try:
            path = export.export_saved_model(model, args.output, args.version, overwrite=args.overwrite,
                                             model_name=args.model_name, warmup_images=images)
        except FileExistsError:  # another export made this version while this one ran: it is kept
            raise CommandError(f"--version {args.version}: {target} was created by another export while this "
                               "one ran; it was kept and this export discarded (pass --overwrite to replace it)") from None
        print(f"wrote {path} ({model.settings['variant']}, {model.settings['num_classes']} classes, "
              f"input {model.settings['image_size']}px, trained as {model.settings['dtype']}, exported float32)")
        # The user's own models.config is merged from (never written); the merge goes to the target.
        merge_from = targets["models.config"] if targets["models.config"] is not None and \
            os.path.lexists(targets["models.config"]) else config_path  # ours if it exists, else the user's
        config, text = export.merged_model_config(merge_from, args.model_name, args.serving_base_path,
                                                  [args.version], local_base=args.output)
        texts = {"models.config": text,
                 "batching_parameters.txt": export.batching_parameters_text(num_batch_threads=args.num_batch_threads)}
        served = [c for c in config.model_config_list.config if c.name == args.model_name][0]
        for name in CONFIG_FILES:
            if name not in claimed:
                print(f"kept {Path(args.config_dir) / name}: not written by this command (nor {name}{BESIDE}); "
                      f"merge version {args.version} into it yourself", file=sys.stderr)
                continue
            policy, out = claimed[name]
            with policy.publish(out) as tmp:
                Path(tmp).write_text(texts[name], encoding="utf-8")
            if out.name != name:
                print(f"kept {out.with_name(name)}: not written by this command; wrote {out.name} beside it for "
                      "you to merge", file=sys.stderr)
            elif name == "models.config":
                print(f"wrote {out} (serving {args.model_name} versions "
                      f"{list(served.model_version_policy.specific.versions)} from {args.serving_base_path})")
            else:
                print(f"wrote {out}")
    return 0


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("export savedmodel", argv)


if __name__ == "__main__":
    sys.exit(main())

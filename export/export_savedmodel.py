"""Export a trained DSAN (.keras) as a TF Serving SavedModel version.

    python export/export_savedmodel.py --weights RUN/model.keras --output models/dsan --version 1

Writes ``models/dsan/1/`` (saved_model.pb, variables/, assets/labels.txt,
assets.extra/tf_serving_warmup_requests) atomically, refuses to replace an existing
version unless ``--overwrite``, and writes/updates ``models/models.config`` (the versions
to serve) and ``models/batching_parameters.txt`` beside the model folder. See
export/README.md for the docker commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import dsan_tf  # noqa: E402,F401  (before TensorFlow loads: turns on its oneDNN kernels)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, type=Path, help="trained model (.keras)")
    p.add_argument("--output", required=True, type=Path,
                   help="model base directory, e.g. models/dsan (versions go in numbered subfolders)")
    p.add_argument("--version", required=True, type=int, help="version number (positive integer)")
    p.add_argument("--overwrite", action="store_true", help="replace the version if it exists")
    p.add_argument("--model-name", default=None, help="model name in TF Serving (default: output folder name)")
    p.add_argument("--config-dir", type=Path, default=None,
                   help="where models.config and batching_parameters.txt go (default: the output's parent)")
    p.add_argument("--serving-base-path", default=None,
                   help="base_path written in models.config: the model folder as the server sees it "
                        "(default: /models/<model-name>, the docker layout)")
    p.add_argument("--num-batch-threads", type=int, default=4,
                   help="num_batch_threads in batching_parameters.txt: the serving machine's cores")
    p.add_argument("--warmup-images", nargs="*", type=Path, default=None,
                   help="images for the warmup requests (default: the embedded FERPlus sample)")
    args = p.parse_args(argv)
    if args.version < 1:
        p.error(f"--version must be a positive integer, got {args.version}")
    args.model_name = args.model_name or args.output.resolve().name
    args.config_dir = args.config_dir or args.output.resolve().parent
    args.serving_base_path = args.serving_base_path or f"/models/{args.model_name}"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    target = args.output / str(args.version)
    # Checked before TensorFlow is imported, so a refusal costs nothing.
    if target.exists() and not args.overwrite:
        print(f"error: {target} already exists; pass --overwrite to replace it", file=sys.stderr)
        return 1
    if not args.weights.is_file():
        print(f"error: weights file {args.weights} not found", file=sys.stderr)
        return 1

    import keras

    import dsan_tf.model  # noqa: F401  (registers the custom classes for load_model)
    from dsan_tf import export

    model = keras.models.load_model(args.weights, compile=False)
    if not isinstance(model, dsan_tf.model.DSAN):
        print(f"error: {args.weights} holds a {type(model).__name__}, not a DSAN model", file=sys.stderr)
        return 1
    images = None
    if args.warmup_images:
        images = [f.read_bytes() for f in args.warmup_images]
    path = export.export_saved_model(model, args.output, args.version, overwrite=args.overwrite,
                                     model_name=args.model_name, warmup_images=images)
    config_path = Path(args.config_dir) / "models.config"
    config = export.update_model_config(config_path, args.model_name, args.serving_base_path,
                                        [args.version], local_base=args.output)
    batching_path = Path(args.config_dir) / "batching_parameters.txt"
    export.write_batching_parameters(batching_path, num_batch_threads=args.num_batch_threads)
    served = [c for c in config.model_config_list.config if c.name == args.model_name][0]
    print(f"wrote {path} ({model.settings['variant']}, {model.settings['num_classes']} classes, "
          f"input {model.settings['image_size']}px, trained as {model.settings['dtype']}, exported float32)")
    print(f"wrote {config_path} (serving {args.model_name} versions "
          f"{list(served.model_version_policy.specific.versions)} from {args.serving_base_path})")
    print(f"wrote {batching_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

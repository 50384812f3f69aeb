"""dsan train: train and evaluate DSAN end to end.

Examples:
  dsan train --dataset ferplus                       # smoke run on the embedded sample
  dsan train --dataset ferplus --data-dir DIR --preset cpu
  dsan train --dataset rafdb --data-dir DIR --backbone-weights resnet18_msceleb.pth
  dsan train --dataset ferplus --data-dir DIR --output runs/x --resume
  dsan train --dataset ferplus --data-dir DIR --eval-only --weights runs/x/model.keras

(python experiments/run.py takes the same arguments.)
"""

import argparse
import logging
import shlex
import sys
import time
from pathlib import Path

from dsan_tf.presets import PRESETS, resolve
from dsan_tf.cli.validators import (MAX_BATCH, MAX_COUNT, as_text, custom, existing_dir, existing_file, float_in, int_in,
                                   model_image_size, model_reference, non_negative_float, output_path, positive_float,
                                   positive_int, probability, seed, text)
from dsan_tf.cli import CommandParser

DATASETS = ("ferplus", "rafdb", "affectnet7", "affectnet8", "folder")


def build_parser(prog="dsan train"):
    p = CommandParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Every preset value can be overridden by its flag; flags left out take the preset's value.",
    )
    # Paths stay text: they go to config.json as they are.
    folder, file, model = as_text(existing_dir), as_text(existing_file), as_text(model_reference)
    g = p.add_argument_group("data")
    g.add_argument("--dataset", required=True, choices=DATASETS, help="dataset reader to use")
    g.add_argument("--data-dir", type=folder, default=None,
                   help="dataset root (default: none; --dataset ferplus then runs a smoke test on the embedded sample)")
    g.add_argument("--label-mode", choices=("majority", "probability"),
                   help="FERPlus training labels: majority vote (the paper's protocol) or the vote distribution as soft "
                        "targets; evaluation after training always scores majority votes (with --eval-only: this mode) "
                        "(default: the preset's)")
    g.add_argument("--split", type=text("a split name"), help="split to evaluate on (default: test if present, else valid)")
    g.add_argument("--subset", action="append", metavar="NAME=LIST", type=subset,
                   help="also report accuracy on the images named in LIST (RAN occlusion/pose lists); repeatable "
                        "(default: none)")
    g.add_argument("--oversample", action=argparse.BooleanOptionalAction, default=None,
                   help="class-balanced oversampling of the training set (paper: on for AffectNet; default: the "
                        "preset's)")
    g.add_argument("--class-weight", choices=("none", "balanced"), help="per-class loss weights (default: the preset's)")
    g.add_argument("--teacher-labels", type=file,
                   help="distil: train on a mix of the dataset's targets and these teachers' probabilities, an .npz of "
                        "dsan teacher-labels (matched by face name) (default: none)")
    g.add_argument("--teacher-weight", type=float_in(0, 1, open_low=True),
                   help="with --teacher-labels: the teachers' share w of each target, (1 - w) * target + w * teacher's "
                        "(default 0.5)")

    g = p.add_argument_group("preset and output")
    g.add_argument("--preset", choices=tuple(PRESETS), default=None,
                   help="paper: Sect. 4.2 settings (default); cpu: best DSAN in 60 min on 2 CPU cores; "
                        "cpu-long: the shipped ferplus model's recipe (48 px, 30 epochs, ~2 h on 2 cores); "
                        "smoke: minutes, for checking a setup (the default without --data-dir)")
    g.add_argument("--output", type=as_text(output_path()), help="run directory (default runs/<dataset>-<variant>-<time>)")
    g.add_argument("--resume", action="store_true", help="continue the run in --output from its last checkpoint")
    g.add_argument("--checkpoint-every", type=positive_int(MAX_COUNT), default=200,
                   help="save a checkpoint every N steps (default 200)")
    g.add_argument("--time-budget-minutes", type=non_negative_float(1e6),
                   help="stop training after this much wall time (checkpointed; evaluation still runs); 0 = no limit "
                        "(default: the preset's)")
    g.add_argument("--seed", type=seed, default=0, help="random seed (weights, shuffling, augmentation) (default 0)")
    g.add_argument("--verbose", type=int_in(0, 2), default=1,
                   help="training output: 0 none, 1 one line per epoch (loss, accuracy, val accuracy, time; "
                        "default), 2 Keras' line per epoch with every metric")

    g = p.add_argument_group("model")
    g.add_argument("--variant", choices=("dsan", "gfe", "mff", "baseline"), default="dsan",
                   help="dsan (default); gfe = GFE-AN only (alpha=1); mff = MFF-AN only (alpha=0); baseline = "
                        "ResNet-18 + max-pool + FC")
    g.add_argument("--alpha", type=probability, help="GFE-AN weight in the fusion and loss (Eq. 11) (default: the preset's)")
    g.add_argument("--lambda1", type=non_negative_float(1000), help="weight of L_FR_C (Eq. 6) (default: the preset's)")
    g.add_argument("--lambda2", type=non_negative_float(1000), help="weight of L_CCS (Eq. 6) (default: the preset's)")
    g.add_argument("--split-num", type=int_in(1, 512),
                   help="F, the number of MFF-AN chunks (divides 512) (default: the preset's)")
    g.add_argument("--reduction", type=int_in(1, 512),
                   help="r, the sparse attention's reduction ratio (default: the preset's)")
    g.add_argument("--centre-update", choices=("centre-loss", "class-normalised", "present-classes", "loss-gradient"),
                   help="how the class centres step: centre-loss (default; the centre-loss step of Wen et al. and "
                        "DACL, per class and free of the loss weights, L_CCS's push weighted by "
                        "--centre-separation-weight), class-normalised (the same pull with the loss weights kept), "
                        "present-classes (that, with L_CCS's push charged to the class's examples too) or "
                        "loss-gradient (the total loss's gradient, the paper's plain reading: it scales the pull by "
                        "alpha*lambda1/N); see docs/results.md, 'Class centres (issue 12)'")
    g.add_argument("--centre-separation-weight", type=non_negative_float(1000),
                   help="weight of L_CCS's push on the centres in the centre-loss step, relative to the pull "
                        "(default 0.002, measured: at the paper's lambda2/lambda1 = 1 no centre follows its class)")
    g.add_argument("--stop-attention-gradient", action=argparse.BooleanOptionalAction, default=None,
                   help="a' = stop_gradient(a) in L_FR_C (default); --no-stop-attention-gradient lets the "
                        "network's gradient flow through a' too, as DACL's backward pass does")
    for name, what in (("hfe", "high-level feature extractors HFE1/HFE2"), ("sa", "sparse attention"),
                       ("lfa", "local feature attention")):
        g.add_argument(f"--{name}", action=argparse.BooleanOptionalAction, default=True,
                       help=f"use the {what} (Table 6) (default: on)")
    g.add_argument("--image-size", type=model_image_size,
                   help="square input side in pixels (default: the preset's: paper 224, cpu 64, cpu-long and smoke 48)")
    g.add_argument("--mixed-precision", choices=("auto", "float32", "mixed_bfloat16", "mixed_float16"),
                   nargs="?", const="auto",
                   help="training precision; auto (the cpu preset's default, and this flag without a value): "
                        "mixed_float16 on a GPU with float16 tensor cores, mixed_bfloat16 on a CPU with native "
                        "bfloat16 (amx_bf16/avx512_bf16), float32 otherwise; the choice and why go to the log "
                        "and config.json. Evaluation is float32")
    g.add_argument("--backbone-weights", type=file,
                   help="torchvision ResNet-18 state dict to start from (resnet18_msceleb.pth) (default: the preset's)")
    g.add_argument("--init-from", type=model,
                   help="fine-tune from a trained model.keras or a shipped model's name such as ferplus, at any "
                        "--image-size (progressive resizing; new heads when classes differ) (default: none)")
    g.add_argument("--devices", nargs="+", type=text("a device name such as /gpu:0"),
                   help="devices for MirroredStrategy (default: all local GPUs)")

    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=positive_int(100_000),
                   help="training epochs (default: the preset's: paper 40, cpu 8, cpu-long 30, smoke 2)")
    g.add_argument("--batch-size", type=positive_int(MAX_BATCH), help="global batch size (default: the preset's)")
    g.add_argument("--learning-rate", "--lr", type=positive_float(10),
                   help="Adam learning rate of the network (default: the preset's)")
    g.add_argument("--schedule", choices=("exponential", "cosine", "constant"),
                   help="learning-rate schedule (default: the preset's)")
    g.add_argument("--decay-rate", type=float_in(0, 1, open_low=True),
                   help="per-epoch factor of the exponential schedule (paper 0.6) (default: the preset's)")
    g.add_argument("--warmup-epochs", type=non_negative_float(100_000),
                   help="linear warm-up (cosine schedule) (default: the preset's)")
    g.add_argument("--weight-decay", type=float_in(0, 1),
                   help="L2 weight decay added to the gradients (default: the preset's)")
    g.add_argument("--centre-learning-rate", type=positive_float(100),
                   help="SGD learning rate of the class centres (default: 0.05 with "
                   "--centre-update centre-loss, the paper's 0.9 with the other rules)")
    g.add_argument("--centre-momentum", type=float_in(0, 1, open_high=True),
                   help="SGD momentum of the class centres (default 0.9, the paper's)")
    g.add_argument("--ema-decay", type=float_in(0, 1, open_high=True),
                   help="keep an exponential moving average of the weights, updated after every step with this "
                        "decay (e.g. 0.999; warm-up min(D, (1+n)/(10+n)) at step n), checkpointed for --resume; "
                        "model.keras then holds the average and model-last.keras the last step's weights, both "
                        "scored in metrics.json; the per-epoch validation scores the last step's weights "
                        "(default 0: off)")
    g.add_argument("--sgd-scope", choices=("centres", "gfe"), default="centres",
                   help="what SGD trains: the class centres (default) or the centres and GFE-AN's HFE1 and sparse "
                        "attention (the paper's literal reading; its classifiers stay on Adam)")

    g = p.add_argument_group("augmentation")
    g.add_argument("--random-crop", action=argparse.BooleanOptionalAction, default=None,
                   help="pad-and-crop shift (default: the preset's)")
    g.add_argument("--horizontal-flip", action=argparse.BooleanOptionalAction, default=None,
                   help="random left-right mirroring (default: the preset's)")
    g.add_argument("--rotation", type=float_in(0, 180),
                   help="random rotation range in degrees (default: the preset's)")
    g.add_argument("--random-erasing", type=probability, help="probability of random erasing (default: the preset's)")

    g = p.add_argument_group("evaluation only")
    g.add_argument("--eval-only", action="store_true", help="evaluate --weights instead of training")
    g.add_argument("--weights", type=model, help="trained model.keras for --eval-only (default: none)")
    return p


def _subset(text):
    """NAME=LIST_FILE, kept as text: runner.read_subset_lists reads and checks the list before any work."""
    name, sep, path = text.partition("=")
    return text if sep and name.strip() and path.strip() else None


subset = custom("subset", "NAME=LIST_FILE", _subset)


def parse_args(argv=None):
    """The settings flags of ``argv`` (ablate builds grid points with it)."""
    return build_parser().parse_args(argv)


# Attributes of the parsed arguments that are about the command line, not the run.
NOT_SETTINGS = {"debug", "invocation", "argv", "settings"}


def build_settings(args):
    smoke = args.dataset == "ferplus" and not args.data_dir and not args.eval_only
    preset = args.preset or ("smoke" if smoke else "paper")
    settings = resolve(preset, args.dataset)
    overrides = {k: v for k, v in vars(args).items() if v is not None and k not in NOT_SETTINGS}
    settings.update(overrides)
    settings["preset"] = preset
    settings["smoke_run_on_sample"] = smoke
    if not settings.get("output"):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        settings["output"] = str(Path("runs") / f"{args.dataset}-{settings['variant']}-{stamp}")
    return settings


def interrupted_line(args, interrupt):
    """The one line printed after Ctrl-C: where training stopped and the command that continues it."""
    what = f"interrupted: {interrupt}" if str(interrupt) else "interrupted"
    settings = getattr(args, "settings", None)
    if settings is None or args.eval_only or not (Path(settings["output"]) / "config.json").is_file():
        return f"{what}; nothing to resume"
    command = [*args.invocation, *args.argv]
    if not args.output:
        command += ["--output", settings["output"]]
    if not args.resume:
        command.append("--resume")
    return f"{what}; to continue: {shlex.join(command)}"


def check_args(parser, args):
    if args.eval_only and not args.weights:
        parser.error("--eval-only needs --weights MODEL.keras")
    if args.resume and not args.output:
        parser.error("--resume needs --output RUN_DIR (the run to continue)")
    if args.teacher_weight is not None and not args.teacher_labels:
        parser.error("--teacher-weight goes with --teacher-labels FILE")
    if args.teacher_labels and args.eval_only:
        parser.error("--teacher-labels is a way to train; --eval-only trains nothing")


def run(args):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = args.settings = build_settings(args)
    if settings["smoke_run_on_sample"]:
        print("NOTE: no --data-dir: this is a SMOKE RUN on the small FERPlus sample shipped with dsan_tf "
              "(a few hundred images). Its accuracy means nothing; pass --data-dir for real training.", flush=True)

    from dsan_tf.runner import evaluate_only, train_and_evaluate

    metrics = evaluate_only(settings) if args.eval_only else train_and_evaluate(settings)
    if metrics is None:
        print("worker finished; the chief writes the model and metrics")
        return 0
    print(f"\n{settings['dataset']} {metrics['split']} split ({metrics['count']} images): "
          f"accuracy {metrics['accuracy']:.2%}, mean class accuracy {metrics['mean_class_accuracy']:.2%}")
    if "last_weights_accuracy" in metrics:
        print(f"  (EMA of the weights; the last step's weights: accuracy {metrics['last_weights_accuracy']:.2%}, "
              f"mean class accuracy {metrics['last_weights_mean_class_accuracy']:.2%})")
    for stream, acc in metrics.get("stream_accuracy", {}).items():
        print(f"  {stream:>5} stream accuracy {acc:.2%}")
    for name, sub in metrics.get("subsets", {}).items():
        print(f"  subset {name}: {sub['accuracy']:.2%} of {sub['count']} images")
    print(f"outputs in {settings['output']}")
    return 0


def main(argv=None):
    from dsan_tf.cli import run_command

    return run_command("train", argv)


if __name__ == "__main__":
    sys.exit(main())

"""dsan bench: the command line of :mod:`dsan_tf.benchmark` (training and inference throughput of DSAN
against its baseline, or against PyTorch), whose docstring says what is measured and how.

    python experiments/bench.py [--image-size 112] [--batch-size 64] [--steps N] [--warmup N] [--rounds R] [--json]
    python experiments/bench.py --against-torch [--image-size 64,112] [--precisions float32] [--torch-reference PATH]
    python experiments/bench.py --against-torch --profile [--image-size 64] [--batch-size 64] [--steps 2] [--json]
"""

from __future__ import annotations

import json
import sys

from dsan_tf.benchmark import (DEFAULT_TORCH_REFERENCE, MODELS, PARTS, PRECISIONS, PROFILE_STEPS, REPO,
                               BenchSettings, run_against_torch, run_throughput)
from dsan_tf.cli import CommandParser
from dsan_tf.cli.validators import (MAX_BATCH, MAX_CLASSES, comma_list, existing_file, fits_in_one_tensor, int_in,
                                   model_image_size, non_negative_int, one_of, positive_float, positive_int, seed)


_image_sizes = comma_list(model_image_size, max_items=16)


def build_parser(prog="dsan bench"):
    parser = CommandParser(
        prog=prog,
        description=(
            "Training and inference throughput (images/s) of dsan and baseline, alternating "
            "rounds in one process, in float32 and mixed_bfloat16; prints dsan/baseline ratios."
        )
    )
    parser.add_argument(
        "--image-size",
        type=_image_sizes,
        default=(112,),
        help="square input side (default 112); with --against-torch a comma-separated list (e.g. 64,112)",
    )
    parser.add_argument("--batch-size", type=positive_int(MAX_BATCH), default=64, help="images per step (default 64)")
    parser.add_argument("--num-classes", type=int_in(2, MAX_CLASSES), default=7, help="K (default 7)")
    parser.add_argument(
        "--steps",
        type=positive_int(1_000_000),
        default=None,
        help=(
            "timed steps per model per round (default: chosen so that a round lasts about --round-seconds); "
            f"with --profile the profiled steps per framework (default {PROFILE_STEPS})"
        ),
    )
    parser.add_argument(
        "--round-seconds",
        type=positive_float(86_400),
        default=30.0,
        help="target length of one model's round when --steps is not given (default 30)",
    )
    parser.add_argument(
        "--warmup", type=non_negative_int(10_000), default=1,
        help="untimed steps per model before the rounds; the first traces (default 1)"
    )
    parser.add_argument("--rounds", type=positive_int(1000), default=3, help="alternating rounds (default 3)")
    parser.add_argument(
        "--precisions",
        type=comma_list(one_of(PRECISIONS), max_items=len(PRECISIONS)),
        default=None,
        help=f"comma-separated dtype policies (default {','.join(PRECISIONS)}; float32 with --against-torch)",
    )
    parser.add_argument("--no-inference", action="store_true", help="skip the inference measurement")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the random batches and weights (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    torch_group = parser.add_argument_group("TensorFlow against PyTorch")
    torch_group.add_argument(
        "--against-torch",
        action="store_true",
        help="time the DSAN training step against the PyTorch reference, alternating rounds in this process",
    )
    torch_group.add_argument(
        "--torch-reference",
        type=existing_file,
        default=None,
        help=f"the PyTorch reference script (default {DEFAULT_TORCH_REFERENCE} relative to the checkout)",
    )
    torch_group.add_argument(
        "--threads",
        type=positive_int(1024),
        default=None,
        help=(
            "threads of both frameworks: TensorFlow's intra-op and inter-op pools and PyTorch's intra-op "
            "threads (default: each framework's own choice, one per core; 1 with --profile)"
        ),
    )
    torch_group.add_argument(
        "--with-keras-batchnorm",
        action="store_true",
        help=(
            "also time the TF model with Keras' unfused BatchNorm in the trunk (as before issue 16; "
            "FusedBatchNormalization.fused = False), as a row 'tf-keras-bn'"
        ),
    )
    torch_group.add_argument(
        "--with-keras-adam",
        action="store_true",
        help=(
            "also time the TF model with Keras' own Adam (about ten ops per variable; as before issue 16) "
            "in place of dsan_tf.optimizers.FusedAdam (one fused op), as a row 'tf-keras-adam'"
        ),
    )
    torch_group.add_argument(
        "--profile",
        action="store_true",
        help=(
            "instead of the timing rounds, profile --steps training steps of each framework after the warm-up "
            "(1 thread each unless --threads) and print the op time per step of each part (convolution "
            "forward/backward, BatchNorm, optimiser, other), TF beside PyTorch. JSON: results[i].tf and "
            ".torch each hold op_ms_per_step (summed op time per step), parts.<part>.ms_per_step and .share "
            f"(parts: {', '.join(PARTS)}) and other_top ([op type, ms per step], largest first)"
        ),
    )
    torch_group.add_argument(
        "--profile-top",
        type=non_negative_int(1000),
        default=10,
        help="with --profile, how many of the largest op types in 'other' to print (default 10)",
    )
    return parser


def check_args(parser, args):
    if args.profile:
        if not args.against_torch:
            parser.error("--profile goes with --against-torch")
        if args.with_keras_batchnorm or args.with_keras_adam:
            parser.error("--profile profiles tf and torch only; --with-keras-* are rows of the timing rounds")
        if args.threads is None:
            args.threads = 1  # op times are then CPU times, least disturbed by a loaded machine
    args.image_sizes = args.image_size
    if len(args.image_sizes) > 1 and not args.against_torch:
        parser.error("--image-size takes several sizes only with --against-torch")
    args.image_size = args.image_sizes[0]
    if args.torch_reference is None:
        args.torch_reference = REPO / DEFAULT_TORCH_REFERENCE
    if args.precisions is None:  # (the ranges of the other flags are their validators')
        args.precisions = ("float32",) if args.against_torch else PRECISIONS
    args.precisions = tuple(dict.fromkeys(args.precisions))
    if not fits_in_one_tensor(args.batch_size, max(args.image_sizes)):
        parser.error(f"--batch-size {args.batch_size} at --image-size {max(args.image_sizes)}: a batch too large "
                     "for one TensorFlow tensor; use a smaller batch or image size")


def _ratio_text(result, kind):
    rounds = " ".join(f"{r:.3f}" for r in result[f"{kind}_ratio_rounds"])
    return (
        f"{result[f'{kind}_ratio_dsan_over_baseline']:.3f} "
        f"(best {result[f'{kind}_ratio_best_dsan_over_baseline']:.3f}; rounds {rounds}; "
        f"CPU {result[f'{kind}_ratio_cpu_dsan_over_baseline']:.3f})"
    )


def print_table(summary, args):
    infer = not args.no_inference
    before, after = summary["load_average_1min"]
    print(
        f"Throughput, {args.image_size}x{args.image_size}, batch {args.batch_size}, {args.rounds} alternating rounds "
        f"(dsan, baseline, ...) after {args.warmup} warm-up step(s); images/s from the median step "
        "(fastest step in brackets)"
    )
    print(f"Machine: {summary['cpu_count']} CPUs, 1-min load average {before:.1f} at start, {after:.1f} at end")
    header = f"  {'precision':<16s}{'model':<10s}{'steps/round':>12s}{'train img/s':>20s}{'CPU s/step':>12s}"
    if infer:
        header += f"{'steps/round':>13s}{'infer img/s':>20s}{'CPU s/step':>12s}"
    print(header)
    for precision, result in summary["precisions"].items():
        for variant in MODELS:
            e = result[variant]
            line = (
                f"  {precision:<16s}{variant:<10s}{result['steps']['train']:>12d}"
                f"{e['train_images_per_s']:>11.2f} ({e['train_images_per_s_best']:6.2f})"
                f"{e['train_step_cpu_seconds_median']:>12.2f}"
            )
            if infer:
                line += (
                    f"{result['steps']['infer']:>13d}"
                    f"{e['infer_images_per_s']:>11.2f} ({e['infer_images_per_s_best']:6.2f})"
                    f"{e['infer_step_cpu_seconds_median']:>12.2f}"
                )
            print(line)
    print("dsan/baseline throughput ratio: median steps (fastest steps; each round; process CPU time per step)")
    for precision, result in summary["precisions"].items():
        print(f"  {precision:<16s}train     {_ratio_text(result, 'train')}")
        if infer:
            print(f"  {'':<16s}inference {_ratio_text(result, 'infer')}")
    print(
        f"train_ratio_dsan_over_baseline ({summary['headline_precision']}): "
        f"{summary['train_ratio_dsan_over_baseline']:.3f} (target >= 0.97)"
    )


def print_setup(summary):
    """The CPU, versions, threads and load lines of both --against-torch tables."""
    cpu, threads = summary["cpu"], summary["threads"]
    print(f"CPU: {cpu['model']}, {cpu['cpus']} logical CPUs, ISA: {', '.join(cpu['isa']) or 'none of avx2/avx512/amx'}")
    print(
        f"TensorFlow {summary['tensorflow']} (TF_ENABLE_ONEDNN_OPTS={summary['onednn']}, intra-op threads "
        f"{threads['tf_intra_op']}, inter-op {threads['tf_inter_op']}); PyTorch {summary['torch']} "
        f"({threads['torch']} threads); reference {summary['torch_reference']}"
    )
    before, after = summary["load_average_1min"]
    print(f"1-min load average {before:.1f} at start, {after:.1f} at end")


def print_against_torch(summary):
    print(
        f"DSAN training step (ResNet-18 trunk, both streams, both optimisers), TensorFlow vs PyTorch, "
        f"batch {summary['batch_size']}, {summary['rounds']} alternating rounds (tf, torch, ...) in one process "
        f"after {summary['warmup']} warm-up step(s); images/s from the median step (fastest step in brackets)"
    )
    print_setup(summary)
    print(f"  {'precision':<16s}{'size':>5s}{'steps':>6s}  {'framework':<12s}{'img/s':>9s}{'(best)':>9s}{'CPU s/step':>11s}")
    for r in summary["results"]:
        for name in r["frameworks"]:
            e = r[name]
            print(
                f"  {r['precision']:<16s}{r['image_size']:>5d}{r['steps']:>6d}  {name:<12s}"
                f"{e['images_per_s']:>9.1f} ({e['images_per_s_best']:6.1f}){e['step_cpu_seconds_median']:>11.2f}"
            )
    print("Ratios: images/s of the median steps (fastest steps; process CPU time per step; each round)")
    for r in summary["results"]:
        for key in sorted(k[len("ratio_rounds_"):] for k in r if k.startswith("ratio_rounds_")):
            label = "/".join(side.replace("_", "-").replace("tf", "TF").replace("torch", "PyTorch")
                             for side in key.split("_over_"))
            rounds = " ".join(f"{x:.3f}" for x in r[f"ratio_rounds_{key}"])
            print(
                f"  {r['precision']:<16s}{r['image_size']:>5d}px  {label:<22s}{r[f'ratio_{key}']:.3f} "
                f"(best {r[f'ratio_best_{key}']:.3f}; CPU {r[f'ratio_cpu_{key}']:.3f}; rounds {rounds})"
            )


def print_profile(summary):
    print(
        f"DSAN training step (ResNet-18 trunk, both streams, both optimisers), TensorFlow vs PyTorch, "
        f"batch {summary['batch_size']}: op time per step by part, profiled after {summary['warmup']} warm-up "
        "step(s) (TF: op events of the executor threads; PyTorch: self CPU time)"
    )
    print_setup(summary)
    for r in summary["results"]:
        tf_ops, torch_ops = r["tf"], r["torch"]
        print(f"{r['precision']}, {r['image_size']} px, {r['steps']} profiled step(s)")
        print(f"  {'part':<40s}{'TF ms/step':>12s}{'share':>8s}{'PyTorch ms/step':>17s}{'share':>8s}")
        for part, label in PARTS.items():
            t, p = tf_ops["parts"][part], torch_ops["parts"][part]
            print(
                f"  {label:<40s}{t['ms_per_step']:>12.1f}{t['share']:>8.1%}"
                f"{p['ms_per_step']:>17.1f}{p['share']:>8.1%}"
            )
        print(f"  {'summed op time':<40s}{tf_ops['op_ms_per_step']:>12.1f}{'':>8s}{torch_ops['op_ms_per_step']:>17.1f}")
        tops = (tf_ops["other_top"], torch_ops["other_top"])
        if any(tops):  # to check that nothing large lands in "other" by mistake
            print(f"  largest op types in 'other', ms/step: {'TF':<34s}PyTorch")
            for i in range(max(map(len, tops))):
                tf_cell, torch_cell = (f"{top[i][0]} {top[i][1]:.1f}" if i < len(top) else "" for top in tops)
                print(f"  {'':<38s}{tf_cell:<36s}{torch_cell}")


def run(args):
    settings = BenchSettings.of(args)
    if args.against_torch:
        summary = run_against_torch(settings)
        if args.json:
            print(json.dumps(summary))
        else:
            (print_profile if args.profile else print_against_torch)(summary)
        return 0
    summary = run_throughput(settings)
    if args.json:
        print(json.dumps(summary))
    else:
        print_table(summary, args)
    return 0


def parse_args(argv=None):
    """The parsed arguments of ``dsan bench argv`` (argparse's SystemExit for bad ones)."""
    from dsan_tf.cli import parse_command_args

    return parse_command_args("bench", argv)[1]


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("bench", argv)


if __name__ == "__main__":
    sys.exit(main())

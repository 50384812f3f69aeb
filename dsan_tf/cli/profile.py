"""dsan profile: parameters, MACs and FLOPs of a DSAN model, beside the paper's Table 1 (and Table 7 with --table).

    dsan profile --num-classes 7 --image-size 224 [--variant V] [--json] [--table]

MACs follow the paper's counter (thop): convolution and dense multiply-accumulates plus
2 per BatchNorm output element; FLOPs = 2 x MACs. The paper's "MFLOPs" column is that
counter's output, i.e. MACs. See ``dsan_tf/profiling.py`` for exactly what is counted.
"""

from __future__ import annotations

import json
import sys
from dsan_tf.cli.validators import MAX_CLASSES, int_in, model_image_size
from dsan_tf.cli import CommandParser

PAPER_K, PAPER_SIZE = 7, 224
MACS_NOTE = (
    'Note: the paper\'s Table 1 "MFLOPs" column is the output of its counter (thop), which '
    "counts multiply-accumulates: compare it with MACs here, not with FLOPs (= 2 x MACs)."
)


def build_parser(prog="dsan profile"):
    parser = CommandParser(
        prog=prog,
        description=(
            "Count the parameters (trainable network weights, non-trainable BatchNorm "
            "statistics and the K x d class centres, apart), MACs (thop's convention: conv "
            "and dense multiply-accumulates + 2 per BatchNorm output element, batch 1) and "
            "FLOPs (= 2 x MACs) of a DSAN model, beside the paper's Table 1."
        )
    )
    parser.add_argument("--num-classes", type=int_in(2, MAX_CLASSES), default=7,
                        help="K (default 7, as the paper's RAF-DB)")
    parser.add_argument("--image-size", type=model_image_size, default=224, help="square input side (default 224)")
    parser.add_argument("--variant", choices=("baseline", "gfe", "mff", "dsan"), default="dsan",
                        help="baseline, gfe, mff or dsan (default dsan)")
    parser.add_argument("--num-splits", type=int_in(1, 512), default=4,
                        help="F, MFF-AN chunks; must divide 512 (default 4)")
    parser.add_argument("--reduction", type=int_in(1, 512), default=2, help="r of the sparse attention (default 2)")
    parser.add_argument("--sa-layers", type=int_in(1, 2), default=2, choices=(1, 2),
                        help="FC layers in the sparse attention (default 2)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: params_trainable, params_non_trainable, centres, macs, flops (+ extras)",
    )
    out.add_argument(
        "--table",
        action="store_true",
        help="print the Table 1 comparison (baseline and dsan) and the Table 7 SA counts for r = 1..6",
    )
    return parser


def _build(args, variant):
    from dsan_tf.model import build_dsan

    return build_dsan(
        args.num_classes,
        args.image_size,
        variant,
        num_splits=args.num_splits,
        reduction=args.reduction,
        sa_layers=args.sa_layers,
        dtype="float32",
    )


def _is_paper_setting(args):
    return (
        args.num_classes == PAPER_K
        and args.image_size == PAPER_SIZE
        and (args.num_splits, args.reduction, args.sa_layers) == (4, 2, 2)
    )


def _pct(ours, paper):
    from dsan_tf.profiling import relative_difference

    return f"{100 * relative_difference(ours, paper):+.3f} %"


def print_report(args, result):
    from dsan_tf.profiling import PAPER_TABLE1

    paper = PAPER_TABLE1.get(args.variant) if _is_paper_setting(args) else None
    print(
        f"DSAN variant {args.variant}: K={args.num_classes}, {args.image_size}x{args.image_size} input, "
        f"F={args.num_splits}, r={args.reduction}, SA layers={args.sa_layers}, batch 1"
    )
    rows = [
        ("params, trainable (network)", result["params_trainable"], "M"),
        ("params, non-trainable (BN statistics)", result["params_non_trainable"], None),
        ("class centres (K x d, counted apart)", result["centres"], None),
        ("MACs", result["macs"], "M"),
        ("FLOPs (= 2 x MACs)", result["flops"], "M"),
    ]
    for label, value, unit in rows:
        scaled = f"{value / 1e6:,.2f} M" if unit else ""
        extra = ""
        if paper and label.startswith("params, trainable"):
            extra = f"paper Table 1: {paper['params_m']:.2f} M Params"
        elif paper and label == "MACs":
            extra = f'paper Table 1: {paper["mflops"]:.2f} "MFLOPs" ({_pct(value, paper["mflops"] * 1e6)})'
        print(f"  {label:<40s}{value:>15,d}{scaled:>12s}   {extra}".rstrip())
    if paper is None:
        print(
            f"  (the paper's Table 1 gives baseline and dsan at K={PAPER_K}, {PAPER_SIZE}x{PAPER_SIZE}, "
            "F=4, r=2, 2 SA layers; no paper row for this setting)"
        )
    print(MACS_NOTE)


def print_tables(args):
    from dsan_tf.profiling import PAPER_TABLE1, profile, table7_rows

    print(
        f"Table 1 (RAF-DB rows), K={args.num_classes}, {args.image_size}x{args.image_size}, batch 1; "
        'paper "MFLOPs" = thop MACs'
    )
    header = (
        f"  {'model':<9s}{'params (ours)':>15s}{'paper':>9s}{'non-train.':>12s}{'centres':>9s}"
        f"{'MACs M (ours)':>15s}{'paper MFLOPs':>14s}{'diff':>11s}{'FLOPs M (ours)':>16s}"
    )
    print(header)
    paper_setting = _is_paper_setting(args)
    for variant in ("baseline", "dsan"):
        result = profile(_build(args, variant))
        paper = PAPER_TABLE1[variant] if paper_setting else None
        print(
            f"  {variant:<9s}{result['params_trainable']:>15,d}"
            f"{(format(paper['params_m'], '.2f') + ' M') if paper else '-':>9s}"
            f"{result['params_non_trainable']:>12,d}{result['centres']:>9,d}"
            f"{result['macs'] / 1e6:>15.2f}{format(paper['mflops'], '.2f') if paper else '-':>14s}"
            f"{_pct(result['macs'], paper['mflops'] * 1e6) if paper else '-':>11s}"
            f"{result['flops'] / 1e6:>16.2f}"
        )
    if not paper_setting:
        print(f"  (paper rows are at K={PAPER_K}, {PAPER_SIZE}x{PAPER_SIZE}, F=4, r=2; none shown for this setting)")
    print(MACS_NOTE)
    print()
    print("Table 7: sparse attention parameters at d = 128 (FC + BatchNorm per layer, d/r rounded down)")
    print(f"  {'layers':>6s}{'r':>4s}{'ours':>9s}{'paper':>9s}  match")
    for layers, r, ours, paper in table7_rows():
        print(f"  {layers:>6d}{r:>4d}{ours:>9,d}{paper:>9,d}  {'yes' if ours == paper else 'NO'}")


def run(args):
    from dsan_tf.errors import UserError

    try:
        if args.table:
            print_tables(args)
            return 0
        from dsan_tf.profiling import profile

        model = _build(args, args.variant)
        result = profile(model)
    except ValueError as error:  # a setting build_dsan refuses (e.g. --num-splits not dividing 512)
        if isinstance(error, UserError):
            raise
        raise UserError(str(error)) from None
    if args.json:
        extras = {
            "variant": args.variant,
            "num_classes": args.num_classes,
            "image_size": args.image_size,
            "mflops_is_macs_note": MACS_NOTE,
        }
        print(json.dumps({**result, **extras}))
    else:
        print_report(args, result)
    return 0


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("profile", argv)


if __name__ == "__main__":
    sys.exit(main())

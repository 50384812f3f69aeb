"""dsan simulate-centres: which centre update lets every class centre follow its class? A simulation on a trained model's features.

    dsan simulate-centres --weights RUN/model.keras --data-dir ../shared/datasets/ferplus

Issue 12 asks for a centre update chosen by measurement: every centre's norm within 3x its
class's mean ||a*h1|| and, by the end, cosine >= 0.9 between each centre and its class's
mean feature. A full training run per candidate costs an hour on a CPU; this tool answers
the centre half of the question in seconds. It reads the training split once through the
trained model (a = sparse attention, x = a*h1, the argmax label; no augmentation), then
replays each candidate rule on those fixed features: random batches of the training run's
size with the real class frequencies, centres started from N(0, 1) like the model's, the
rule's SGD with coupled weight decay (1e-4, the paper's; --weight-decay). What it cannot show is how the network's
features react to the centres: a full run checks that (docs/results.md, "Class centres (issue 12)").

Printed per rule and class: the final cosine to the class mean (and to the attention-weighted
mean, where the pull of L_FR_C settles) and the norm ratio; then the worst cosine and ratio at
each epoch end. ``--csv`` writes the same figures as a table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dsan_tf.errors import UserError
from dsan_tf.cli.validators import MAX_BATCH, custom, existing_dir, float_in, model_reference, output_path, positive_int, seed
from dsan_tf.data.registry import DATASETS
from dsan_tf.cli import CommandParser


# dsan_tf.model.CENTRE_UPDATES, repeated here: that module imports TensorFlow, --help must not
# (tests/test_flags.py checks they agree).
CENTRE_UPDATES = ("centre-loss", "class-normalised", "present-classes", "loss-gradient")
from dsan_tf.state_files import StateFileError, read_npz_state, require_finite


class Rule(NamedTuple):
    """One candidate: the update rule (dsan_tf.model.CENTRE_UPDATES), its SGD and beta."""

    update: str
    learning_rate: float
    momentum: float
    beta: float = 0.0  # centre_separation_weight, used by "centre-loss"

    @property
    def label(self):
        beta = f" beta {self.beta:g}" if self.update == "centre-loss" else ""
        return f"{self.update}{beta} (SGD {self.learning_rate:g}/{self.momentum:g})"


# The candidates of issue 12: the old and previous rules at the paper's SGD, and the centre-loss
# step with L_CCS's push at the paper's weight ratio (lambda2/lambda1 = 1) down to none.
DEFAULT_RULES = (
    Rule("loss-gradient", 0.9, 0.9),
    Rule("class-normalised", 0.9, 0.9),
    Rule("present-classes", 0.9, 0.9),
    Rule("centre-loss", 0.9, 0.9, beta=0.002),
    Rule("centre-loss", 0.05, 0.9, beta=1.0),
    Rule("centre-loss", 0.05, 0.9, beta=0.01),
    Rule("centre-loss", 0.05, 0.9, beta=0.004),
    Rule("centre-loss", 0.05, 0.9, beta=0.002),
    Rule("centre-loss", 0.05, 0.9, beta=0.0),
)


def parse_rule(text):
    """'centre-loss:0.05:0.9:0.002' -> Rule (update:lr:momentum[:beta])."""
    parts = text.split(":")
    try:
        return Rule(parts[0], *(float(p) for p in parts[1:]))
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r}: expected update:learning_rate:momentum[:beta]") from None


def separation_gradient(centres):
    """d L_CCS / d c_k for L_CCS = sum over ordered pairs i != j of (cos(c_i, c_j) + 1)."""
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    unit = centres / norms
    cosine = unit @ unit.T
    pairs = (unit[None, :, :] - cosine[:, :, None] * unit[:, None, :]) / norms[:, None, :]  # d cos(c_k, c_j) / d c_k
    pairs[np.arange(len(centres)), np.arange(len(centres))] = 0.0
    return 2.0 * pairs.sum(axis=1)


def centre_gradient(rule, centres, features, attention, labels, lambda1, lambda2, alpha):
    """The centres' gradient of one batch under ``rule`` (as DSAN.train_step computes it, one replica)."""
    k = len(centres)
    members = np.eye(k)[labels]
    counts = members.sum(axis=0)[:, None]
    pull = members.T @ (attention * (centres[labels] - features))
    push = separation_gradient(centres)
    if rule.update == "centre-loss":
        return (pull + counts * rule.beta * push) / (1.0 + counts)
    if rule.update == "class-normalised":
        return lambda1 * pull / (1.0 + counts) + lambda2 * push
    if rule.update == "present-classes":
        return (lambda1 * pull + counts * lambda2 * push) / (1.0 + counts)
    if rule.update == "loss-gradient":
        return alpha * (lambda1 * pull / len(labels) + lambda2 * push)
    raise ValueError(f"unknown centre update {rule.update!r}")


def attention_weighted_mean(features, attention):
    """sum_i a_i*x_i / sum_i a_i per dimension: where L_FR_C's pull on a centre settles."""
    return (attention * features).sum(axis=0) / np.maximum(attention.sum(axis=0), 1e-12)


def tracking(centres, features, attention, labels):
    """Per class: cosine to the mean feature, cosine to the attention-weighted mean, norm ratio."""
    cos, target_cos, ratio = [], [], []
    for k, centre in enumerate(centres):
        x, a = features[labels == k], attention[labels == k]
        mean = x.mean(axis=0)
        target = attention_weighted_mean(x, a)
        norm = np.linalg.norm(centre)
        cos.append(centre @ mean / max(norm * np.linalg.norm(mean), 1e-12))
        target_cos.append(centre @ target / max(norm * np.linalg.norm(target), 1e-12))
        ratio.append(norm / np.linalg.norm(x, axis=1).mean())
    return np.array(cos), np.array(target_cos), np.array(ratio)


def simulate(rule, features, attention, labels, *, epochs=8, batch_size=64, lambda1=0.01, lambda2=0.01, alpha=0.4,
             weight_decay=1e-4, seed=0):
    """Replay ``rule`` on fixed features; returns one ``tracking`` tuple per epoch end (None once it diverged)."""
    rng = np.random.default_rng(seed)
    num_classes = int(labels.max()) + 1
    centres = rng.standard_normal((num_classes, features.shape[1]))
    velocity = np.zeros_like(centres)
    history = []
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            order = rng.permutation(len(labels))
            for start in range(0, len(labels) - batch_size + 1, batch_size):
                batch = order[start:start + batch_size]
                grad = centre_gradient(rule, centres, features[batch], attention[batch], labels[batch],
                                       lambda1, lambda2, alpha) + weight_decay * centres
                velocity = rule.momentum * velocity + grad  # Keras SGD: v = m v - lr g; c += v
                centres = centres - rule.learning_rate * velocity
            if not np.all(np.isfinite(centres)) or np.abs(centres).max() > 1e12:
                history.append(None)
                break
            history.append(tracking(centres, features, attention, labels))
    return history


def extract_features(weights, data_dir, dataset, image_size=None, batch_size=128):
    """(features a*h1, attention a, argmax labels, class names) of the training split through the model."""
    import tensorflow as tf

    from dsan_tf.data.pipeline import make_dataset
    from dsan_tf.data.registry import load_dataset
    from dsan_tf.inference import load_dsan

    model = load_dsan(weights)
    if model.class_centres is None or not model.settings["use_sa"]:
        raise UserError(f"{weights}: not a DSAN with class centres and sparse attention")
    size = image_size or model.settings["image_size"]
    # FERPlus: the soft labels' argmax, as the centre step uses them in the cpu preset.
    data = load_dataset(dataset, data_dir, label_mode="probability" if dataset == "ferplus" else "majority")
    train = data.table[data.table["split"] == "train"]
    batches = make_dataset(train, model.settings["num_classes"], size, batch_size, training=False, cache=False)

    @tf.function
    def forward(images):
        outputs = model(images, training=False)
        # float32 whatever the model's policy: bfloat16 sums over thousands of features lose the means.
        return tf.cast(outputs["gfe_features"], tf.float32), tf.cast(outputs["attention"], tf.float32)

    features, attention, labels = [], [], []
    for images, targets in batches:
        x, a = forward(images)
        features.append(x.numpy())
        attention.append(a.numpy())
        labels.append(np.argmax(targets.numpy(), axis=-1))
    return np.concatenate(features), np.concatenate(attention), np.concatenate(labels), model.class_names


def report(rule, history, class_names):
    lines = [rule.label]
    if history and history[-1] is None:
        lines.append(f"  diverged in epoch {len(history)} (a centre's norm passed 1e12)")
        return "\n".join(lines)
    if not history:
        raise UserError("no epoch to report: --epochs must be at least 1")
    cos, target_cos, ratio = require_finite(history[-1], f"the replay of {rule.label}", "its figures")
    lines.append("  " + "  ".join(f"{n[:8]:>8}" for n in class_names))
    lines.append("  " + "  ".join(f"{v:+8.2f}" for v in cos) + "   cosine to the class mean")
    lines.append("  " + "  ".join(f"{v:+8.2f}" for v in target_cos) + "   cosine to the attention-weighted mean")
    lines.append("  " + "  ".join(f"{v:8.2f}" for v in ratio) + "   norm ratio")
    lines.append("  per epoch, worst cosine / largest ratio: "
                 + " ".join(f"{h[0].min():+.2f}/{h[2].max():.1f}" for h in history))
    return "\n".join(lines)


def build_parser(prog="dsan simulate-centres"):
    parser = CommandParser(prog=prog, description=__doc__.split("\n\n")[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--weights", type=model_reference, default=None,
                        help="a trained DSAN model.keras whose features to use (default: none; needed "
                             "unless --features exists)")
    parser.add_argument("--data-dir", type=existing_dir, default=None,
                        help="the dataset's folder (default: none; needed unless --features exists)")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="ferplus", help="dataset name (default ferplus)")
    parser.add_argument("--features", type=output_path(".npz"), default=None,
                        help="an .npz of features: read if it exists, else written after extraction (default: "
                             "extract, keep nothing)")
    parser.add_argument("--rule", dest="rules", action="append", type=rule, default=None,
                        help="update:learning_rate:momentum[:beta], repeatable (default: issue 12's candidates)")
    parser.add_argument("--epochs", type=positive_int(1000), default=8,
                        help="epochs to replay (default 8, the cpu preset's)")
    parser.add_argument("--batch-size", type=positive_int(MAX_BATCH), default=64,
                        help="batch size (default 64, the cpu preset's)")
    parser.add_argument("--weight-decay", type=float_in(0, 1), default=1e-4,
                        help="the centres' coupled weight decay (default 1e-4, the paper's and the model's)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the batch order (default 0)")
    parser.add_argument("--csv", type=output_path(), default=None,
                        help="also write the final per-class figures to this CSV (default: none; an "
                             "existing file is refused unless --overwrite)")
    parser.add_argument("--overwrite", action="store_true",
                        help="let --csv replace an existing file (default: refuse)")
    return parser


def _checked_rule(text):
    """A --rule whose update is known and whose numbers are in range (else None: argparse says what is expected)."""
    from dsan_tf.cli.validators import float_in as _in

    found = parse_rule(text)
    if found.update not in CENTRE_UPDATES:
        return None
    _in(0, 100, open_low=True)(str(found.learning_rate))
    _in(0, 1, open_high=True)(str(found.momentum))
    _in(0, 1000)(str(found.beta))
    return found


rule = custom("rule", f"update:learning_rate:momentum[:beta] with update one of {', '.join(CENTRE_UPDATES)}, "
              "0 < learning_rate <= 100, 0 <= momentum < 1, 0 <= beta <= 1000", _checked_rule)


def check_args(parser, args):
    cache = Path(args.features) if args.features else None
    if not (cache is not None and cache.is_file()) and (not args.weights or not args.data_dir):
        parser.error("--weights and --data-dir are needed (or --features naming an existing .npz)")


def run(args):
    from dsan_tf.outputs import OutputPolicy

    cache = Path(args.features) if args.features else None
    inputs = [args.weights, args.data_dir] + ([cache] if cache is not None and cache.is_file() else [])
    with OutputPolicy(command="simulate-centres", flag="--csv", overwrite=args.overwrite, inputs=inputs) as policy:
        if args.csv:
            policy.claim_file(args.csv)  # checked and locked before the work
        if cache is not None and not cache.is_file():
            policy.claim_file(cache, flag="--features")
        return _run(args, policy, cache)


def _run(args, policy, cache):
    if cache is not None and cache.is_file():
        stored = read_npz_state(cache, {"features": (2, "f"), "attention": (2, "f"), "labels": (1, "iu"),
                                        "class_names": (1, "U")}, what="a features file of simulate-centres",
                                hint="delete it to extract the features again (--weights, --data-dir)")
        features, attention, labels = stored["features"], stored["attention"], stored["labels"]
        class_names = [str(n) for n in stored["class_names"]]
        if len(features) != len(labels) or attention.shape != features.shape or len(labels) == 0 \
                or labels.max() >= len(class_names):
            raise StateFileError(f"{cache} (a features file of simulate-centres): its arrays do not fit together "
                                 f"(features {features.shape}, attention {attention.shape}, labels {labels.shape}, "
                                 f"{len(class_names)} class names); delete it to extract the features again")
    else:
        features, attention, labels, class_names = extract_features(args.weights, args.data_dir, args.dataset)
        if cache is not None:
            with policy.publish(cache) as tmp, open(tmp, "wb") as handle:
                np.savez(handle, features=features, attention=attention, labels=labels,
                         class_names=np.array(class_names))
    require_finite([features, attention], f"the features of {args.weights or cache}",
                   "they",
                   "are the model's weights NaN or infinite?")
    counts = np.bincount(labels, minlength=len(class_names))
    if (counts == 0).any():  # a class without features has no mean: every figure of it would be NaN
        raise UserError("no training features of class " + ", ".join(n for n, c in zip(class_names, counts) if not c)
                        + ": the centres cannot be compared with class means")
    print(f"centre weight decay {args.weight_decay:g}")
    print(f"{len(labels)} training features of dimension {features.shape[1]}; per class: "
          + ", ".join(f"{n} {c}" for n, c in zip(class_names, counts)))
    # Where a perfectly tracking centre ends: the attention-weighted mean, not the plain one.
    targets = [attention_weighted_mean(features[labels == k], attention[labels == k]) for k in range(len(class_names))]
    offset, _, _ = tracking(np.stack(targets), features, attention, labels)
    print("cosine between attention-weighted and plain class mean: "
          + ", ".join(f"{n} {v:.2f}" for n, v in zip(class_names, offset)))
    rows = []
    for rule in args.rules or DEFAULT_RULES:
        history = simulate(rule, features, attention, labels, epochs=args.epochs, batch_size=args.batch_size,
                           weight_decay=args.weight_decay, seed=args.seed)
        print(report(rule, history, class_names), flush=True)
        if history and history[-1] is not None:
            for name, cos, target, ratio in zip(class_names, *history[-1]):
                rows.append(dict(rule=rule.label, class_name=name, cosine=cos, target_cosine=target, norm_ratio=ratio))
    if args.csv:
        import pandas as pd

        with policy.publish(args.csv) as tmp:
            pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.4f")
    return 0


def main(argv=None):
    from dsan_tf.cli import run_command

    return run_command("simulate-centres", argv)


if __name__ == "__main__":
    sys.exit(main())

"""Figures of a run: confusion matrices and training curves (matplotlib, Agg backend)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dsan_tf.io_utils import atomic_path  # noqa: E402


def plot_confusion_matrix(matrix, class_names, path, title="Confusion matrix"):
    """Counts and row-normalised matrices side by side, class names on both axes."""
    matrix = np.asarray(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix, dtype=float), where=rows > 0)
    size = max(5.0, 0.6 * len(class_names) + 2)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    for ax, data, fmt, label in ((axes[0], matrix, "d", "counts"), (axes[1], normalised, ".2f", "row-normalised")):
        image = ax.imshow(data, cmap="Blues")
        fig.colorbar(image, ax=ax, fraction=0.046)
        ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
        ax.set_yticks(range(len(class_names)), class_names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{title} ({label})")
        threshold = data.max() / 2 if data.size else 0
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                ax.text(j, i, format(data[i, j], fmt), ha="center", va="center", fontsize=8,
                        color="white" if data[i, j] > threshold else "black")
    fig.tight_layout()
    _save(fig, path)


def read_history(history_csv):
    """Keras' CSVLogger file, one row per epoch, without columns that were never logged.

    A run resumed mid-epoch logs that epoch twice (the part before the interruption, then the
    rest); the later row is the one that finished it. Validation columns of a run without a
    validation split are all empty.
    """
    from dsan_tf.state_files import read_csv_state

    log = read_csv_state(history_csv, ("epoch",), what="a run's training history", finite=("epoch",), numeric=True)
    log = log.drop_duplicates("epoch", keep="last")
    return log.dropna(axis="columns", how="all").reset_index(drop=True)


def plot_training_curves(history_csv, path):
    """Loss and accuracy per epoch (train, validation, and each DSAN stream alone)."""
    log = read_history(history_csv)
    panels = [("loss", ["loss", "val_loss"]),
              ("accuracy", ["accuracy", "val_accuracy", "gfe_accuracy", "mff_accuracy"])]
    styles = {"loss": "-", "accuracy": "-", "val_loss": "--", "val_accuracy": "--",
              "gfe_accuracy": ":", "mff_accuracy": ":"}
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 4))
    for ax, (label, columns) in zip(axes, panels):
        for column in columns:
            if column in log:
                ax.plot(log["epoch"] + 1, log[column], styles[column], marker="o", label=column)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    _save(fig, path)


def has_centre_diagnostics(history_csv):
    return any(c.startswith("centre_cos_") for c in read_history(history_csv).columns)


def plot_centre_diagnostics(history_csv, path):
    """Per class and epoch: cosine(centre, class mean of a*h1) (solid; dashed: against the
    attention-weighted mean, where present) and ||centre|| / mean ||a*h1|| (DSAN.centre_tracking)."""
    log = read_history(history_csv)
    classes = [c[len("centre_cos_"):] for c in log.columns if c.startswith("centre_cos_") and c != "centre_cos_min"]
    fig, (cos_ax, ratio_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for name in classes:
        line, = cos_ax.plot(log["epoch"] + 1, log[f"centre_cos_{name}"], marker="o", label=name)
        if f"centre_target_cos_{name}" in log:
            cos_ax.plot(log["epoch"] + 1, log[f"centre_target_cos_{name}"], ls="--", color=line.get_color())
        ratio_ax.plot(log["epoch"] + 1, log[f"centre_norm_ratio_{name}"], marker="o", color=line.get_color())
    cos_ax.axhline(0.9, color="grey", ls="--", lw=1)
    cos_ax.set_ylim(-1.05, 1.05)
    cos_ax.set_ylabel("cosine(centre, class mean a*h1)\n(dashed: attention-weighted mean)")
    for bound in (1 / 3, 1.0, 3.0):
        ratio_ax.axhline(bound, color="grey", ls="--" if bound != 1.0 else ":", lw=1)
    ratio_ax.set_yscale("log")
    ratio_ax.set_ylabel("||centre|| / mean ||a*h1|| of the class")
    for ax in (cos_ax, ratio_ax):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    cos_ax.legend(fontsize=8, ncol=2)
    fig.suptitle("class centres against their classes' training features")
    fig.tight_layout()
    _save(fig, path)


def percent(value, digits: int = 2, unit: str = " %") -> str:
    """0.8402 -> '84.02 %'; '—' for a class the split did not have (null) or NaN."""
    return "—" if value is None or np.isnan(value) else f"{100 * value:.{digits}f}{unit}"


def _save(fig, path):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def plot_run_comparison(runs, class_names, path):
    """Runs side by side: training (and validation) accuracy and cross-entropy per epoch, and
    per-class accuracy as grouped bars. ``runs``: dsan_tf.cli.compare.load_run's dicts."""
    fig, (acc_ax, loss_ax, class_ax) = plt.subplots(1, 3, figsize=(16, 4.2), width_ratios=(1, 1, 1.4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, run in enumerate(runs):
        colour, log = colours[i % len(colours)], run["history"]
        if log is None:
            continue
        # ce_loss: the classification loss every variant logs (DSAN's "loss" adds its centre terms).
        for ax, column in ((acc_ax, "accuracy"), (loss_ax, "ce_loss" if "ce_loss" in log else "loss")):
            if column in log:
                ax.plot(log["epoch"] + 1, log[column], "-", color=colour, label=f"{run['label']} (train)")
            if f"val_{column}" in log:
                ax.plot(log["epoch"] + 1, log[f"val_{column}"], "--", color=colour, label=f"{run['label']} (validation)")
    for ax, label in ((acc_ax, "accuracy"), (loss_ax, "cross-entropy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    evaluated = [(i, run) for i, run in enumerate(runs) if run["metrics"] is not None]  # None: not evaluated yet
    width = 0.8 / max(1, len(evaluated))
    x = np.arange(len(class_names))
    for place, (i, run) in enumerate(evaluated):
        m = run["metrics"]
        values = [100 * (m["per_class_accuracy"][name] if m["per_class_accuracy"][name] is not None else np.nan)
                  for name in class_names]  # null: the class was not in the split; no bar
        class_ax.bar(x + (place - (len(evaluated) - 1) / 2) * width, values, width, color=colours[i % len(colours)],
                     label=f"{run['label']}: {percent(m['accuracy'])} (mean class {percent(m['mean_class_accuracy'])})")
    if evaluated:
        class_ax.set_xticks(x, class_names, rotation=30, ha="right")
        class_ax.set_ylabel(f"accuracy on {evaluated[0][1]['metrics'].get('split', 'the evaluated')} split (%)")
        class_ax.set_ylim(0, 100 + 10 * len(evaluated))  # room above the bars for the legend
        class_ax.set_yticks(range(0, 101, 20))
        class_ax.grid(alpha=0.3, axis="y")
        class_ax.legend(fontsize=8, loc="upper right")
    else:
        class_ax.text(0.5, 0.5, "no run evaluated yet", ha="center", va="center", transform=class_ax.transAxes)
        class_ax.set_axis_off()
    fig.tight_layout()
    _save(fig, path)

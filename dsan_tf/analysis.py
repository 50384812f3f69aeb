"""The paper's analysis figures from a trained DSAN (Sect. 4.3-4.4, Figs. 7, 10, 11).

- t-SNE of the GFE-AN features a*h1 (``gfe_features``) and of the MFF-AN features h2
  (``mff_features``), coloured by the true class (Figs. 7 and 11; scikit-learn's TSNE).
- P(a=0): the share of sparse-attention weights that are exactly zero, averaged over
  the images of each class and over all images (Fig. 10 gives the average per dataset).
- The LFA gates b_f of the MFF-AN chunks: mean and standard deviation per class and chunk.

A model without a part (variant ``gfe``: no MFF-AN; ``use_sa=False``: no attention;
``use_lfa=False``: every b_f = 1) gets a note in the summary instead of that figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from dsan_tf.outputs import atomic_path

FEATURE_KEYS = ("probabilities", "gfe_features", "mff_features", "attention", "lfa_weights")


def collect_features(model, dataset, keys: Sequence[str] = FEATURE_KEYS) -> dict:
    """Run ``model`` over batches ``(images, targets[, weights])``; numpy arrays of the outputs present.

    Adds ``labels`` (argmax of the targets). A mixed-precision model is copied to float32.
    """
    import tensorflow as tf

    from dsan_tf.model import as_float32

    if model.settings.get("dtype", "float32") != "float32":
        model = as_float32(model)
    wanted = [k for k in keys if k in model.output]

    @tf.function(reduce_retracing=True)
    def step(images):
        out = model(images, training=False)
        return {k: tf.cast(out[k], tf.float32) for k in wanted}

    collected = {k: [] for k in wanted + ["labels"]}
    for batch in dataset:
        out = step(batch[0])
        for k in wanted:
            collected[k].append(out[k].numpy())
        collected["labels"].append(np.argmax(np.asarray(batch[1]), axis=-1))
    if not collected["labels"]:
        raise ValueError("the dataset yielded no batches")
    return {k: np.concatenate(v) for k, v in collected.items()}


def tsne_embedding(features: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE of (N, D) features (PCA initialisation; perplexity capped below N/3)."""
    from sklearn.manifold import TSNE

    features = np.asarray(features, np.float64)
    n = len(features)
    if n < 5:
        raise ValueError(f"t-SNE needs at least 5 images, got {n}")
    perplexity = float(min(perplexity, max(2.0, (n - 1) / 3.0)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
                random_state=seed).fit_transform(features).astype(np.float32)


def zero_attention_share(attention: np.ndarray, labels: np.ndarray, num_classes: int) -> dict:
    """P(a=0): per image the share of the d attention weights that are exactly 0, averaged.

    Returns ``{"overall": p, "per_class": [p_k or None], "counts": [n_k]}``.
    """
    per_image = (np.asarray(attention) == 0).mean(axis=1)
    labels = np.asarray(labels)
    per_class = [float(per_image[labels == k].mean()) if (labels == k).any() else None for k in range(num_classes)]
    return {"overall": float(per_image.mean()), "per_class": per_class,
            "counts": [int((labels == k).sum()) for k in range(num_classes)]}


def lfa_weight_stats(lfa_weights: np.ndarray, labels: np.ndarray, num_classes: int) -> dict:
    """Mean and std of each chunk's gate b_f, over all images and per class (None where a class is absent)."""
    b = np.asarray(lfa_weights, np.float64)
    labels = np.asarray(labels)

    def stats(rows):
        return {"mean": rows.mean(axis=0).tolist(), "std": rows.std(axis=0).tolist()} if len(rows) else None

    return {"overall": stats(b), "per_class": [stats(b[labels == k]) for k in range(num_classes)]}


def silhouette(embedding: np.ndarray, labels: np.ndarray) -> float | None:
    """Silhouette score of the classes in a 2-D embedding (None when fewer than two classes)."""
    from sklearn.metrics import silhouette_score

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2 or len(labels) <= len(np.unique(labels)):
        return None
    return float(silhouette_score(embedding, labels))


# ---------------------------------------------------------------------- figures


def _figure(**kwargs):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _save(fig, path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return Path(path)


def _colours(num_classes):
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if num_classes <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(num_classes)]


def plot_tsne(path, embedding, labels, class_names, title) -> Path:
    fig = _figure(figsize=(7.5, 5.5))
    ax = fig.add_subplot(1, 1, 1)
    labels = np.asarray(labels)
    for k, (name, colour) in enumerate(zip(class_names, _colours(len(class_names)))):
        mask = labels == k
        if mask.any():
            ax.scatter(embedding[mask, 0], embedding[mask, 1], s=10, color=colour, label=f"{name} ({mask.sum()})",
                       alpha=0.8, linewidths=0)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, markerscale=1.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return _save(fig, path)


def plot_zero_attention(path, share: dict, class_names, title) -> Path:
    fig = _figure(figsize=(max(5.0, 0.8 * len(class_names) + 2), 4))
    ax = fig.add_subplot(1, 1, 1)
    values = [np.nan if v is None else v for v in share["per_class"]] + [share["overall"]]
    names = list(class_names) + ["all"]
    colours = _colours(len(class_names)) + [(0.3, 0.3, 0.3, 1.0)]
    bars = ax.bar(range(len(values)), values, color=colours)
    for bar, v in zip(bars, values):
        if np.isfinite(v):
            ax.text(bar.get_x() + bar.get_width() / 2, v + 0.01, f"{v:.2f}", ha="center", fontsize=7)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_xticks(range(len(values)), names, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("P(a = 0)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_lfa_weights(path, lfa_weights, labels, class_names, title) -> Path:
    """Grouped bars: for each chunk f, the mean gate b_f of each class with its std as error bar."""
    b = np.asarray(lfa_weights)
    labels = np.asarray(labels)
    num_chunks, k = b.shape[1], len(class_names)
    fig = _figure(figsize=(max(6.0, 1.6 * num_chunks + 2) + 1.5, 4))
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / (k + 1)
    x = np.arange(num_chunks)
    groups = [(name, labels == c, colour) for c, (name, colour) in enumerate(zip(class_names, _colours(k)))]
    groups.append(("all", np.ones(len(labels), bool), (0.3, 0.3, 0.3, 1.0)))
    for i, (name, mask, colour) in enumerate(groups):
        if not mask.any():
            continue
        ax.bar(x - 0.4 + (i + 0.5) * width, b[mask].mean(axis=0), width, yerr=b[mask].std(axis=0), color=colour,
               label=name, capsize=1.5, error_kw={"lw": 0.6})
    ax.set_xticks(x, [f"chunk {f + 1}" for f in range(num_chunks)])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("LFA weight b_f (mean ± std)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return _save(fig, path)


# ---------------------------------------------------------------------- the whole analysis


ANALYSIS_FILES = ("tsne_gfe.png", "tsne_gfe.npy", "tsne_mff.png", "tsne_mff.npy", "zero_attention.png",
                  "lfa_weights.png", "summary.json", "summary.txt")


def analyse(model, dataset, class_names: Sequence[str], output_dir, *, seed: int = 0, perplexity: float = 30.0,
            source: str = "", policy=None) -> dict:
    """Compute every figure and the summary for one model on one batched dataset.

    Writes ``tsne_gfe.png``, ``tsne_mff.png``, ``zero_attention.png``, ``lfa_weights.png`` (those
    the model supports), ``summary.json`` and ``summary.txt`` (:data:`ANALYSIS_FILES`) to
    ``output_dir``; returns the summary. ``policy``: the :class:`dsan_tf.outputs.OutputPolicy`
    that claimed them (``dsan analyze``); without one (the Python API) the caller owns
    ``output_dir`` and its files are replaced.
    """
    from dsan_tf.outputs import OutputPolicy

    output_dir = Path(output_dir)
    policy = policy if policy is not None else OutputPolicy(command="analyze", overwrite=True)
    settings = model.settings
    k = len(class_names)
    out = collect_features(model, dataset)
    labels = out["labels"]
    predicted = out["probabilities"].argmax(axis=1)
    summary = {
        "source": source,
        "variant": settings["variant"],
        "images": int(len(labels)),
        "class_names": list(class_names),
        "class_counts": np.bincount(labels, minlength=k).astype(int).tolist(),
        "accuracy": float((predicted == labels).mean()),
        "figures": {},
        "notes": [],
    }

    for key, name, fig_ref in (("gfe_features", "gfe", "Figs. 7/11a"), ("mff_features", "mff", "Fig. 11b")):
        if key not in out:
            summary["notes"].append(f"no {key}: variant {settings['variant']!r} has no "
                                    f"{'GFE-AN' if name == 'gfe' else 'MFF-AN'} stream; t-SNE skipped")
            continue
        embedding = tsne_embedding(out[key], seed=seed, perplexity=perplexity)
        label = "GFE-AN a·h1" if name == "gfe" else "MFF-AN h2"
        with policy.publish(output_dir / f"tsne_{name}.png") as tmp:
            plot_tsne(tmp, embedding, labels, class_names, f"t-SNE of {label} ({len(labels)} images; cf. {fig_ref})")
        summary["figures"][f"tsne_{name}"] = f"tsne_{name}.png"
        summary[f"tsne_{name}_silhouette"] = silhouette(embedding, labels)
        with policy.publish(output_dir / f"tsne_{name}.npy") as tmp, open(tmp, "wb") as handle:
            np.save(handle, embedding)

    if "attention" in out:
        share = zero_attention_share(out["attention"], labels, k)
        summary["zero_attention"] = share
        with policy.publish(output_dir / "zero_attention.png") as tmp:
            plot_zero_attention(tmp, share, class_names,
                                f"P(a=0) of the sparse attention ({settings['variant']}; cf. Fig. 10)")
        summary["figures"]["zero_attention"] = "zero_attention.png"
    else:
        reason = ("variant has no GFE-AN" if settings["variant"] not in ("dsan", "gfe")
                  else "sparse attention switched off (use_sa=False)")
        summary["notes"].append(f"no sparse attention ({reason}): P(a=0) is not defined")

    if "lfa_weights" in out:
        stats = lfa_weight_stats(out["lfa_weights"], labels, k)
        summary["lfa_weights"] = stats
        if not settings.get("use_lfa", True):
            summary["notes"].append("LFA switched off (use_lfa=False): every b_f is 1")
        with policy.publish(output_dir / "lfa_weights.png") as tmp:
            plot_lfa_weights(tmp, out["lfa_weights"], labels, class_names,
                             f"LFA weights b_f per chunk (F={out['lfa_weights'].shape[1]})")
        summary["figures"]["lfa_weights"] = "lfa_weights.png"
    else:
        summary["notes"].append(f"no LFA weights: variant {settings['variant']!r} has no MFF-AN stream")

    with policy.publish(output_dir / "summary.json") as tmp, open(tmp, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
        handle.write("\n")
    with policy.publish(output_dir / "summary.txt") as tmp:
        Path(tmp).write_text(summary_text(summary), encoding="utf-8")
    return summary


def summary_text(summary: dict) -> str:
    names = summary["class_names"]
    lines = [f"DSAN analysis — variant {summary['variant']}, {summary['images']} images"
             + (f" ({summary['source']})" if summary["source"] else ""),
             "images per class: " + ", ".join(f"{n} {c}" for n, c in zip(names, summary["class_counts"])),
             f"accuracy (fused) on these images: {summary['accuracy']:.4f}"]
    for name in ("gfe", "mff"):
        if f"tsne_{name}" in summary["figures"]:
            s = summary.get(f"tsne_{name}_silhouette")
            lines.append(f"t-SNE {name.upper()}: {summary['figures'][f'tsne_{name}']} "
                         f"(silhouette of the classes in 2-D: {'n/a' if s is None else f'{s:.3f}'})")
    if "zero_attention" in summary:
        share = summary["zero_attention"]
        per = ", ".join(f"{n} {'n/a' if v is None else f'{v:.3f}'}" for n, v in zip(names, share["per_class"]))
        lines.append(f"P(a=0): overall {share['overall']:.3f}; per class: {per}")
    if "lfa_weights" in summary:
        overall = summary["lfa_weights"]["overall"]
        lines.append("LFA b_f (all images, mean ± std): " + ", ".join(
            f"chunk {f + 1} {m:.3f} ± {s:.3f}" for f, (m, s) in enumerate(zip(overall["mean"], overall["std"]))))
    for note in summary["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"

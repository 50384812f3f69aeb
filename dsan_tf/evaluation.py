"""Evaluation of a trained DSAN: the paper's metrics, per stream, per class and per subset."""

import numpy as np
import tensorflow as tf
from sklearn.metrics import confusion_matrix

STREAM_OUTPUTS = {"fused": "probabilities", "gfe": "gfe_logits", "mff": "mff_logits"}


def collect_outputs(model, dataset, keys=("probabilities", "gfe_logits", "mff_logits", "attention")):
    """Run the model over a batched ``(images, targets[, weights])`` dataset; returns numpy arrays.

    Returns a dict with the requested outputs present in the model and ``targets``.
    """
    wanted = [k for k in keys if k in model.output]

    @tf.function
    def step(images):
        out = model(images, training=False)
        return {k: tf.cast(out[k], tf.float32) for k in wanted}

    collected = {k: [] for k in wanted + ["targets"]}
    for batch in dataset:
        images, targets = batch[0], batch[1]
        out = step(images)
        for k in wanted:
            collected[k].append(out[k].numpy())
        collected["targets"].append(np.asarray(targets))
    if not collected["targets"]:
        raise ValueError("evaluation dataset is empty")
    return {k: np.concatenate(v) for k, v in collected.items()}


def classification_metrics(labels, predicted, class_names):
    """Accuracy, mean class accuracy (the paper's Avg. Acc.), per-class accuracy and the confusion matrix."""
    k = len(class_names)
    matrix = confusion_matrix(labels, predicted, labels=list(range(k)))
    support = matrix.sum(axis=1)
    per_class = np.divide(np.diag(matrix), support, out=np.full(k, np.nan), where=support > 0)
    return {
        "count": int(len(labels)),
        "accuracy": float(np.mean(predicted == labels)) if len(labels) else float("nan"),
        # Classes absent from the split are left out of the mean (and reported as null).
        "mean_class_accuracy": float(np.nanmean(per_class)) if np.any(support > 0) else float("nan"),
        "per_class_accuracy": {name: (None if np.isnan(a) else float(a)) for name, a in zip(class_names, per_class)},
        "confusion_matrix": matrix.tolist(),
    }


def evaluate_outputs(outputs, class_names, subsets=None):
    """All metrics of ``metrics.json`` from ``collect_outputs``' arrays.

    ``subsets`` maps a subset name to a boolean mask over the evaluated rows
    (RAN's occlusion/pose lists, Table 4).
    """
    labels = outputs["targets"].argmax(axis=1)
    predicted = outputs["probabilities"].argmax(axis=1)
    metrics = classification_metrics(labels, predicted, class_names)
    metrics["stream_accuracy"] = {
        stream: float(np.mean(outputs[key].argmax(axis=1) == labels))
        for stream, key in STREAM_OUTPUTS.items()
        if key in outputs
    }
    # Per stream and class: shows which stream (or the fusion) loses the rare classes.
    metrics["stream_per_class_accuracy"] = {
        stream: classification_metrics(labels, outputs[key].argmax(axis=1), class_names)["per_class_accuracy"]
        for stream, key in STREAM_OUTPUTS.items()
        if key in outputs
    }
    if "attention" in outputs:
        # P(a=0) of Fig. 10: the share of sparse-attention weights that are exactly zero.
        zero = outputs["attention"] == 0
        metrics["p_attention_zero"] = float(zero.mean())
        metrics["p_attention_zero_per_class"] = {
            name: float(zero[labels == i].mean()) for i, name in enumerate(class_names) if np.any(labels == i)
        }
    if subsets:
        metrics["subsets"] = {}
        for name, mask in subsets.items():
            mask = np.asarray(mask, bool)
            metrics["subsets"][name] = {
                "count": int(mask.sum()),
                "accuracy": float(np.mean(predicted[mask] == labels[mask])) if mask.any() else None,
            }
    return metrics

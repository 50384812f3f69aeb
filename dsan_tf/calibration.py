"""Post-hoc prior correction of a trained DSAN (logit adjustment, Menon et al., ICLR 2021).

A classifier trained on FERPlus sees 10,000 neutral faces for every 100 contempt ones, and its
fused probabilities carry that prior: a rare class wins only when it is nearly certain. The
correction divides each class's probability by its training frequency to the power τ and
renormalises, p_k ∝ p_k · π_k^(−τ): τ = 0 is the model as trained, τ = 1 the Bayes rule for
the class-balanced error (the mean class accuracy). It is stored in the model
(``DSAN(class_scale=...)``, applied in the fusion layer), so Keras, the SavedModel signatures
and TFLite all give the corrected answer; training is unaffected (the losses use the logits).
"""

from __future__ import annotations

import numpy as np

from dsan_tf.state_files import NotANumberError, require_finite


def class_priors(labels, num_classes: int) -> np.ndarray:
    """Training-set class frequencies from integer labels or (N, K) soft targets (their sums)."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        counts = labels.astype(np.float64).sum(axis=0)
    else:
        counts = np.bincount(labels.astype(np.int64), minlength=num_classes).astype(np.float64)
    if counts.shape != (num_classes,) or (counts <= 0).any():
        raise ValueError(f"every one of the {num_classes} classes needs training examples to set its prior; "
                         f"counts {counts.tolist()}")
    return counts / counts.sum()


def prior_scale(priors, tau: float) -> list[float]:
    """The per-class factors π_k^(−τ), scaled so that the largest is 1."""
    if not np.isfinite(tau) or tau < 0:
        raise ValueError(f"tau must be a finite number >= 0, got {tau}")
    # (π_k / π_min)^(−τ) in logs: π^(−τ) itself overflows to inf for a large τ, and inf / inf is NaN.
    logs = np.log(np.asarray(priors, dtype=np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        scale = np.exp(-float(tau) * (logs - logs.min()))
    return require_finite(scale, f"the prior correction of tau {tau}", "its class factors").tolist()


def adjust(probabilities, scale) -> np.ndarray:
    """What the fusion layer computes from uncorrected probabilities (for choosing τ offline)."""
    scaled = np.asarray(probabilities, dtype=np.float64) * np.asarray(scale, dtype=np.float64)
    total = scaled.sum(axis=-1, keepdims=True)
    if (total <= 0).any():  # every class with probability 0 after scaling: 0 / 0 would be NaN
        raise NotANumberError("the prior correction leaves a face with every class at probability 0 "
                              "(tau too large for the model's probabilities); choose a smaller tau")
    return require_finite(scaled / total, "the prior-corrected probabilities", "they")


def with_prior_correction(model, scale, flip_average=False):
    """A float32 copy of ``model`` whose fused probabilities are multiplied by ``scale`` and renormalised.

    ``scale=None`` removes a correction; ``flip_average`` sets test-time flip averaging
    (``DSAN(flip_average=...)``; the corrected probabilities of the face and its mirror image
    are averaged). The weights are the model's; only inference changes.
    """
    from dsan_tf.model import DSAN

    config = {**model.get_config(), "dtype": "float32"}
    config.pop("class_scale", None)
    config.pop("flip_average", None)
    if scale is not None:
        config["class_scale"] = list(scale)
    if flip_average:
        config["flip_average"] = True
    clone = DSAN.from_config(config)
    clone.set_weights(model.get_weights())
    return clone

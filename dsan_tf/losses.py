"""The losses of DSAN (Eqs. 3-7, 11), as per-example terms.

Per-example terms are returned unreduced so that the train step can average
them over the global batch under a distribution strategy
(``tf.nn.compute_average_loss``); L_CCS depends on no example and is returned
as a scalar.
"""

from keras import ops


def cross_entropy(targets, logits):
    """Per-example softmax cross-entropy; ``targets`` are class probabilities (one-hot or soft).

    Used for L_FR_CE (Eq. 3, on the GFE-AN logits z1) and L_CE (on z2).
    """
    logits = ops.cast(logits, "float32")
    return -ops.sum(ops.cast(targets, "float32") * ops.log_softmax(logits, axis=-1), axis=-1)


def recalibrated_centre_loss(attention, hidden, centres, labels, stop_attention_gradient=True):
    """Per-example L_FR_C (Eq. 4): 1/2 sum_j a'_ij (a_ij h_ij - c_{y_i j})^2.

    ``attention`` a and ``hidden`` h1 are (N, d), ``centres`` (K, d), ``labels``
    integer class ids (N,). a' is ``stop_gradient(a)`` by default: the paper says
    a' and a "share the same value"; gradients reach the attention through the
    recalibrated feature a*h1. The 1/N of Eq. 4 is applied by the caller.
    """
    attention = ops.cast(attention, "float32")
    recalibrated = attention * ops.cast(hidden, "float32")
    weight = ops.stop_gradient(attention) if stop_attention_gradient else attention
    centre = ops.take(ops.cast(centres, "float32"), labels, axis=0)
    return 0.5 * ops.sum(weight * ops.square(recalibrated - centre), axis=-1)


def centre_separation_loss(centres, epsilon=1e-12):
    """L_CCS (Eq. 5): sum over ordered pairs i != j of (cos(c_i, c_j) + 1)."""
    centres = ops.cast(centres, "float32")
    unit = centres / ops.sqrt(ops.maximum(ops.sum(ops.square(centres), axis=-1, keepdims=True), epsilon))
    cosine = ops.matmul(unit, ops.transpose(unit))
    k = ops.shape(centres)[0]
    off_diagonal = 1.0 - ops.eye(k, dtype="float32")
    return ops.sum((cosine + 1.0) * off_diagonal)


def feature_recalibration_loss(fr_ce, fr_c, ccs, lambda1, lambda2):
    """L_FR = L_FR_CE + lambda1 L_FR_C + lambda2 L_CCS (Eq. 6)."""
    return fr_ce + lambda1 * fr_c + lambda2 * ccs


def dsan_loss(fr, ce, alpha):
    """L = alpha L_FR + (1 - alpha) L_CE (Eq. 11)."""
    return alpha * fr + (1.0 - alpha) * ce

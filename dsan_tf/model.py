"""The DSAN model: a functional graph inside a ``keras.Model`` subclass with a custom train step.

Why a functional graph: tf-keras-vis (Grad-CAM) looks layers up by name in a
functional graph. Why a subclass: the two-optimiser train step and the class
centres (a K x d model weight, saved with the model) live on it.
"""

import keras
import tensorflow as tf
from keras import layers

from dsan_tf import losses as L
from dsan_tf.layers import DecisionFusion, LocalFeatureAttention, SparseAttention
from dsan_tf.resnet import TRUNK_CHANNELS, resnet18_features

VARIANTS = ("baseline", "gfe", "mff", "dsan")
# Stream weight alpha implied by a single-stream variant (Sect. 4.4.4: alpha=1 is GFE-AN alone).
VARIANT_ALPHA = {"gfe": 1.0, "mff": 0.0}
SGD_SCOPES = ("centres", "gfe")
# What --sgd-scope gfe puts on SGD: the paper trains "the second branch and the two
# classifiers" with Adam, so GFE-AN's classifier stays on Adam.
GFE_LAYERS = ("gfe_hfe", "sparse_attention")
# How the class centres step (docs/design.md, "Class centres"; measurements: docs/results.md, "Class centres (issue 12)"):
# - "centre-loss" (default): the centre-loss step of Wen et al. / DACL, per class and free of the
#   loss weights, with L_CCS's push charged to the class's examples like the pull:
#   g_k = (sum_{i: y_i=k} a'_i * (c_k - a_i*h1_i) + n_k * beta * dL_CCS/dc_k) / (1 + n_k),
#   beta = centre_separation_weight; a class absent from the batch adds no gradient. beta and the
#   centre SGD rate were chosen by measurement (issue 12): with the paper's weight ratio
#   (beta = lambda2/lambda1 = 1) no centre follows its class; at 0.002 every one does.
# - "class-normalised": the same pull with the loss weights kept,
#   g_k = lambda1 * sum_{i: y_i=k} a'_i * (c_k - a_i*h1_i) / (1 + n_k) + lambda2 * dL_CCS/dc_k;
# - "present-classes": the same pull, but L_CCS's push is charged to the class's examples too,
#   g_k = (lambda1 * sum_{i: y_i=k} a'_i * (c_k - a_i*h1_i) + n_k * lambda2 * dL_CCS/dc_k) / (1 + n_k):
#   only the centres of classes in the batch step, and a rare class's centre is pulled as often
#   as it is pushed (with the push on every step, rare centres ended opposite their features);
# - "loss-gradient": the gradient of the total loss L (scaled by alpha*lambda1/N: centres hardly move).
CENTRE_UPDATES = ("centre-loss", "class-normalised", "present-classes", "loss-gradient")
DEFAULT_CENTRE_SEPARATION_WEIGHT = 0.002
# The centres' SGD (learning rate, momentum) when none is given. The paper's 0.9/0.9 suits the
# rules that keep the loss weights; the weight-free centre-loss step diverges with it, and
# 0.05/0.9 moves a centre lr/(1 - momentum) = 0.5 of the way per step, Wen et al.'s rate.
DEFAULT_CENTRE_SGD = {"centre-loss": (0.05, 0.9)}
PAPER_CENTRE_SGD = (0.9, 0.9)
# The outputs that test-time flip averaging averages over the face and its mirror image.
FLIP_AVERAGED = ("probabilities", "logits", "gfe_logits", "mff_logits")


def default_centre_sgd(centre_update, learning_rate=None, momentum=None):
    """(learning rate, momentum) of the centres' SGD for ``centre_update``; a value given (not None) is kept."""
    default_rate, default_momentum = DEFAULT_CENTRE_SGD.get(centre_update, PAPER_CENTRE_SGD)
    return (default_rate if learning_rate is None else learning_rate,
            default_momentum if momentum is None else momentum)


def trunk_output_size(image_size):
    """Side of ResNet-18's last feature map for a square input (PyTorch arithmetic)."""
    size = (image_size + 6 - 7) // 2 + 1  # conv1: k7, s2, p3
    for _ in range(4):  # max-pool and the three stride-2 stages: k3, s2, p1
        size = (size + 2 - 3) // 2 + 1
    return size


@keras.saving.register_keras_serializable(package="dsan_tf")
class DSAN(keras.Model):
    """Dual Stream Attention Network (Tang, Li, Jin 2024) on a ResNet-18 trunk.

    Outputs a dict: ``probabilities`` (fused, float32), the logits of each stream
    present (``gfe_logits``, ``mff_logits``; ``logits`` for the baseline), the
    sparse attention ``attention`` (a), the GFE-AN hidden feature ``gfe_hidden``
    (h1) and recalibrated feature ``gfe_features`` (a*h1), the MFF-AN feature
    ``mff_features`` (h2) and its gates ``lfa_weights`` (b_f).

    Args:
        num_classes: K.
        image_size: square input side; images are ImageNet-normalised RGB.
        variant: "dsan", "gfe" (GFE-AN only, alpha=1), "mff" (MFF-AN only, alpha=0)
            or "baseline" (trunk + max-pool + FC).
        alpha: fusion and loss weight of GFE-AN (Eq. 11); fixed by the gfe/mff variants.
        lambda1, lambda2: weights of L_FR_C and L_CCS in L_FR (Eq. 6).
        num_splits: F, the number of MFF-AN chunks (must divide 512).
        reduction: r of the sparse attention.
        use_hfe, use_sa, use_lfa: the component switches of the ablations (Table 6).
        sa_layers: 1 or 2 FC layers in the sparse attention (Table 7).
        stop_attention_gradient: a' = stop_gradient(a) in L_FR_C (DESIGN.md); False lets
            the network's gradient flow through a' too, as DACL's backward pass does.
        centre_update: how the class centres step, one of ``CENTRE_UPDATES`` (see there).
        centre_separation_weight: beta, the weight of L_CCS's push in the "centre-loss" step.
        class_names: the class names the model is trained for, stored with it.
        grayscale_input: the model was trained on grey faces (FERPlus) given as 3 equal
            channels; stored with it so that inference greys colour faces the same way.
        class_scale: optional per-class factors of the fused probabilities (a post-hoc prior
            correction, :mod:`dsan_tf.calibration`); None for the paper's fusion.
        flip_average: at inference (``training`` false), average the probabilities and logits
            of the face and its mirror image (test-time flip averaging). Training is
            unaffected; the other outputs (attention, features) are those of the face as given.
        sync_batchnorm: BatchNorm statistics over the global batch under a
            distribution strategy, so N replicas give the update of one.
        dtype: a Keras dtype policy name ("float32", "mixed_bfloat16", "mixed_float16");
            None uses the global policy.
    """

    def __init__(
        self,
        num_classes=7,
        image_size=224,
        variant="dsan",
        alpha=0.4,
        lambda1=0.01,
        lambda2=0.01,
        num_splits=4,
        reduction=2,
        use_hfe=True,
        use_sa=True,
        use_lfa=True,
        sa_layers=2,
        stop_attention_gradient=True,
        centre_update="centre-loss",
        centre_separation_weight=DEFAULT_CENTRE_SEPARATION_WEIGHT,
        class_names=None,
        grayscale_input=False,
        class_scale=None,
        flip_average=False,
        sync_batchnorm=True,
        dtype=None,
        name="dsan",
        **kwargs,
    ):
        _validate(num_classes, image_size, variant, alpha, num_splits, reduction, class_names, centre_update)
        if not float(centre_separation_weight) >= 0:
            raise ValueError(f"centre_separation_weight must be a number >= 0, got {centre_separation_weight!r}")
        alpha = VARIANT_ALPHA.get(variant, float(alpha))
        policy = keras.dtype_policies.get(dtype) if dtype is not None else keras.config.dtype_policy()
        has_gfe = variant in ("dsan", "gfe")
        has_mff = variant in ("dsan", "mff")

        images = keras.Input((image_size, image_size, 3), name="image")
        feature_map = resnet18_features(images, dtype=policy, sync_bn=sync_batchnorm)
        pooled = layers.GlobalMaxPooling2D(name="global_max_pool", dtype=policy)(feature_map)
        outputs, logits, weights = {}, [], []

        if variant == "baseline":
            outputs["logits"] = layers.Dense(num_classes, name="classifier", dtype=policy)(pooled)
            logits, weights = [outputs["logits"]], [1.0]
        if has_gfe:
            dim = feature_size(num_splits)  # d = C/F (Sect. 4.2)
            hidden = (
                layers.Dense(dim, activation="relu", name="gfe_hfe", dtype=policy)(pooled) if use_hfe else pooled
            )
            outputs["gfe_hidden"] = hidden
            if use_sa:
                attention = SparseAttention(
                    reduction, sa_layers, synchronized=sync_batchnorm, name="sparse_attention", dtype=policy
                )(hidden)
                outputs["attention"] = attention
                hidden = layers.Multiply(name="recalibrate", dtype=policy)([attention, hidden])
            outputs["gfe_features"] = hidden
            outputs["gfe_logits"] = layers.Dense(num_classes, name="gfe_classifier", dtype=policy)(hidden)
            logits.append(outputs["gfe_logits"])
            weights.append(alpha)
        if has_mff:
            h2, gates = LocalFeatureAttention(num_splits, use_hfe, use_lfa, name="mff_attention", dtype=policy)(
                pooled
            )
            outputs["mff_features"], outputs["lfa_weights"] = h2, gates
            outputs["mff_logits"] = layers.Dense(num_classes, name="mff_classifier", dtype=policy)(h2)
            logits.append(outputs["mff_logits"])
            weights.append(1.0 - alpha)
        if class_scale is not None and len(class_scale) != num_classes:
            raise ValueError(f"class_scale needs {num_classes} factors, got {len(class_scale)}")
        outputs["probabilities"] = DecisionFusion(weights, class_scale=class_scale, name="fusion")(logits)

        super().__init__(inputs=images, outputs=outputs, name=name, **kwargs)
        self.settings = dict(
            num_classes=int(num_classes),
            image_size=int(image_size),
            variant=variant,
            alpha=alpha,
            lambda1=float(lambda1),
            lambda2=float(lambda2),
            num_splits=int(num_splits),
            reduction=int(reduction),
            use_hfe=bool(use_hfe),
            use_sa=bool(use_sa),
            use_lfa=bool(use_lfa),
            sa_layers=int(sa_layers),
            stop_attention_gradient=bool(stop_attention_gradient),
            centre_update=centre_update,
            centre_separation_weight=float(centre_separation_weight),
            class_names=list(class_names) if class_names is not None else None,
            grayscale_input=bool(grayscale_input),
            sync_batchnorm=bool(sync_batchnorm),
            dtype=policy.name,
        )
        if class_scale is not None:  # only when set: models without it keep their exact config
            self.settings["class_scale"] = [float(s) for s in class_scale]
        if flip_average:  # likewise: absent from the configs of models without it
            self.settings["flip_average"] = True
        self.has_gfe, self.has_mff = has_gfe, has_mff
        self.class_centres = None
        if has_gfe:
            # torch.randn-style initialisation, as centre-loss implementations use.
            self.class_centres = self.add_weight(
                shape=(num_classes, outputs["gfe_hidden"].shape[-1]),
                initializer=keras.initializers.RandomNormal(stddev=1.0),
                name="class_centres",
                dtype="float32",
            )
        self._trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("loss", "fr_ce_loss", "fr_c_loss", "ccs_loss", "ce_loss")
            if name == "loss" or (name != "ce_loss") == has_gfe or (name == "ce_loss" and (has_mff or variant == "baseline"))
        }
        self.centre_tracking = None
        if has_gfe:
            self.centre_tracking = CentreTracking(self.class_centres, class_names or range(num_classes))
            self._trackers["centre"] = self.centre_tracking
        self._accuracies = {"accuracy": keras.metrics.CategoricalAccuracy(name="accuracy")}
        if variant == "dsan":
            self._accuracies["gfe_accuracy"] = keras.metrics.CategoricalAccuracy(name="gfe_accuracy")
            self._accuracies["mff_accuracy"] = keras.metrics.CategoricalAccuracy(name="mff_accuracy")

    # ----------------------------------------------------------------- config
    def get_config(self):
        return {"name": self.name, **self.settings}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def class_names(self):
        return self.settings["class_names"]

    # ---------------------------------------------------------------- compile
    def compile(
        self,
        optimizer="adam",
        centre_optimizer=None,
        weight_decay=1e-4,
        centre_weight_decay=1e-4,
        sgd_scope="centres",
        **kwargs,
    ):
        """Two optimisers: ``optimizer`` (Adam) for the network, ``centre_optimizer`` (SGD) for the centres.

        ``weight_decay`` is added to the gradient (L2, as PyTorch's Adam/SGD do), not decoupled.
        ``sgd_scope="gfe"`` puts every GFE-AN weight on the SGD optimiser too (the paper's
        literal "we train the first branch ... using SGD").
        """
        if sgd_scope not in SGD_SCOPES:
            raise ValueError(f"sgd_scope must be one of {SGD_SCOPES}, got {sgd_scope!r}")
        if "loss" in kwargs or "metrics" in kwargs:
            raise ValueError("DSAN computes its own losses and metrics; do not pass loss= or metrics=")
        optimizer = keras.optimizers.get(optimizer)
        if self.settings["dtype"] == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            # Dynamic loss scaling; the centre gradients are unscaled with the same factor in train_step.
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        super().compile(optimizer=optimizer, **kwargs)
        if centre_optimizer is None:
            rate, momentum = default_centre_sgd(self.settings["centre_update"])
            centre_optimizer = keras.optimizers.SGD(learning_rate=rate, momentum=momentum)
        self.centre_optimizer = keras.optimizers.get(centre_optimizer)
        self.weight_decay = float(weight_decay)
        self.centre_weight_decay = float(centre_weight_decay)
        self.sgd_scope = sgd_scope
        self._compile_kwargs = kwargs
        # Built up front, inside the caller's strategy scope: built lazily in the first
        # step under MirroredStrategy the second optimiser fails (DESIGN.md pitfalls).
        network_vars, sgd_vars = self._variable_groups()
        self.optimizer.build(network_vars)
        if sgd_vars:
            self.centre_optimizer.build(sgd_vars)

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return None
        return {
            "optimizer": keras.saving.serialize_keras_object(self.optimizer),
            "centre_optimizer": keras.saving.serialize_keras_object(self.centre_optimizer),
            "weight_decay": self.weight_decay,
            "centre_weight_decay": self.centre_weight_decay,
            "sgd_scope": self.sgd_scope,
            **self._compile_kwargs,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("optimizer", "centre_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    def _variable_groups(self):
        """(Adam variables, SGD variables)."""
        sgd = [self.class_centres] if self.class_centres is not None else []
        if self.sgd_scope == "gfe":
            sgd += [w for name in GFE_LAYERS if _has_layer(self, name) for w in self.get_layer(name).trainable_weights]
        sgd_ids = {id(v) for v in sgd}
        return [v for v in self.trainable_variables if id(v) not in sgd_ids], sgd

    # ------------------------------------------------------------ inference
    def call(self, inputs, training=None, mask=None):
        outputs = super().call(inputs, training=training, mask=mask)
        if training or not getattr(self, "settings", {}).get("flip_average"):
            return outputs
        # Mirror along the width (NHWC axis 2); a face's expression does not change in the mirror.
        mirrored = super().call(keras.ops.flip(inputs, axis=2), training=training, mask=mask)
        averaged = dict(outputs)
        for key in FLIP_AVERAGED:
            if key in outputs:
                averaged[key] = (outputs[key] + mirrored[key]) / 2
        return averaged

    # ------------------------------------------------------------ train/test
    @property
    def metrics(self):
        return list(self._trackers.values()) + list(self._accuracies.values())

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        targets = self._as_targets(y)
        network_vars, sgd_vars = self._variable_groups()
        with tf.GradientTape() as tape:
            outputs = self(x, training=True)
            terms = self._loss_terms(outputs, targets, sample_weight)
            scaled_loss = self.optimizer.scale_loss(terms["loss"])
        grads = tape.gradient(scaled_loss, network_vars + sgd_vars)
        network_grads, sgd_grads = grads[: len(network_vars)], grads[len(network_vars) :]
        # L2 weight decay added to the gradient, as PyTorch's optimisers do. The gradients
        # are summed over replicas, so each replica adds 1/N of it; loss scaling applies too.
        # The scale's VALUE now: on an overflow step ``self.optimizer.apply`` halves the
        # variable, and the centre gradients below were scaled by this value, not the halved one.
        scale = tf.convert_to_tensor(self._loss_scale(), tf.float32)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        network_grads = _add_weight_decay(network_grads, network_vars, self.weight_decay / replicas, scale)
        self.optimizer.apply(network_grads, network_vars)
        if sgd_vars:
            if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
                sgd_grads = _unscale_or_zero(sgd_grads, scale)
            if self.class_centres is not None and self.settings["centre_update"] != "loss-gradient":
                sgd_grads[0] = self._class_normalised_centre_gradient(outputs, targets, sample_weight)
            sgd_grads = _add_weight_decay(sgd_grads, sgd_vars, self.centre_weight_decay / replicas)
            self.centre_optimizer.apply(sgd_grads, sgd_vars)
        if self.centre_tracking is not None:
            self.centre_tracking.update_state(
                _recalibrated(outputs), tf.argmax(targets, axis=-1, output_type=tf.int32), outputs.get("attention")
            )
        return self._update_metrics(terms, outputs, targets, sample_weight)

    def _class_normalised_centre_gradient(self, outputs, targets, sample_weight):
        """This replica's share of the centres' gradient under the per-class rules (see CENTRE_UPDATES).

        n_k (the weighted count of class k) is summed over the GLOBAL batch, so the
        replicas' shares add up to the one-replica step. Soft labels use the argmax class.
        """
        s = self.settings
        centres = self.class_centres
        labels = tf.argmax(targets, axis=-1, output_type=tf.int32)
        attention = tf.stop_gradient(tf.cast(outputs.get("attention", tf.ones_like(outputs["gfe_hidden"])), tf.float32))
        features = tf.stop_gradient(_recalibrated(outputs))
        members = tf.one_hot(labels, s["num_classes"])  # (N, K)
        if sample_weight is not None:
            members *= tf.reshape(tf.cast(sample_weight, tf.float32), [-1, 1])
        pulls = tf.matmul(members, attention * (tf.gather(centres, labels) - features), transpose_a=True)  # (K, d)
        counts = tf.reduce_sum(members, axis=0)
        context = tf.distribute.get_replica_context()
        if context is not None:
            counts = context.all_reduce(tf.distribute.ReduceOp.SUM, counts)
        with tf.GradientTape() as tape:
            separation = tf.nn.scale_regularization_loss(L.centre_separation_loss(centres))
        push = tape.gradient(separation, centres)
        per_class = (1.0 + counts)[:, None]
        if s["centre_update"] == "centre-loss":
            return (pulls + counts[:, None] * s["centre_separation_weight"] * push) / per_class
        pull, push = s["lambda1"] * pulls, s["lambda2"] * push
        if s["centre_update"] == "present-classes":
            # Charged to the class's examples, like the pull: a centre with none in the batch gets no gradient.
            return (pull + counts[:, None] * push) / per_class
        return pull / per_class + push

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        targets = self._as_targets(y)
        outputs = self(x, training=False)
        terms = self._loss_terms(outputs, targets, sample_weight)
        logs = self._update_metrics(terms, outputs, targets, sample_weight)
        # The centre diagnostics follow the training features only (the tracker is not updated here).
        return {k: v for k, v in logs.items() if not k.startswith("centre_")}

    def _as_targets(self, y):
        """Targets as class probabilities (N, K): integer labels become one-hot."""
        y = tf.convert_to_tensor(y)
        if y.shape.rank == 1 or (y.shape.rank == 2 and y.shape[-1] == 1 and self.settings["num_classes"] > 1):
            return tf.one_hot(tf.reshape(tf.cast(y, tf.int32), [-1]), self.settings["num_classes"])
        return tf.cast(y, tf.float32)

    def _loss_terms(self, outputs, targets, sample_weight):
        """Every loss term, each averaged over the GLOBAL batch (DESIGN.md, Losses)."""
        s = self.settings

        def average(per_example):
            return tf.nn.compute_average_loss(per_example, sample_weight=sample_weight)

        terms = {}
        if s["variant"] == "baseline":
            terms["ce_loss"] = average(L.cross_entropy(targets, outputs["logits"]))
            terms["loss"] = terms["ce_loss"]
            return terms
        total = 0.0
        if self.has_gfe:
            labels = tf.argmax(targets, axis=-1, output_type=tf.int32)  # soft labels: the argmax centre
            hidden = outputs["gfe_hidden"]
            attention = outputs.get("attention", tf.ones_like(hidden))  # SA off: a = 1 (Eq. 7)
            terms["fr_ce_loss"] = average(L.cross_entropy(targets, outputs["gfe_logits"]))
            terms["fr_c_loss"] = average(
                L.recalibrated_centre_loss(attention, hidden, self.class_centres, labels, s["stop_attention_gradient"])
            )
            terms["ccs_loss"] = tf.nn.scale_regularization_loss(L.centre_separation_loss(self.class_centres))
            fr = L.feature_recalibration_loss(
                terms["fr_ce_loss"], terms["fr_c_loss"], terms["ccs_loss"], s["lambda1"], s["lambda2"]
            )
            total += s["alpha"] * fr
        if self.has_mff:
            terms["ce_loss"] = average(L.cross_entropy(targets, outputs["mff_logits"]))
            total += (1.0 - s["alpha"]) * terms["ce_loss"]
        terms["loss"] = total
        return terms

    def _update_metrics(self, terms, outputs, targets, sample_weight):
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        for name, tracker in self._trackers.items():
            if tracker is self.centre_tracking:
                continue  # updated by train_step only: it follows the training features
            # Terms are averaged over the global batch; one replica's share times N is its mean.
            tracker.update_state(terms[name] * replicas)
        self._accuracies["accuracy"].update_state(targets, outputs["probabilities"], sample_weight)
        if "gfe_accuracy" in self._accuracies:
            self._accuracies["gfe_accuracy"].update_state(targets, outputs["gfe_logits"], sample_weight)
            self._accuracies["mff_accuracy"].update_state(targets, outputs["mff_logits"], sample_weight)
        logs = {}
        for metric in self.metrics:
            result = metric.result()
            logs.update(result if isinstance(result, dict) else {metric.name: result})
        return logs

    def _loss_scale(self):
        if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            return self.optimizer.dynamic_scale
        return 1.0


def build_dsan(num_classes=7, image_size=224, variant="dsan", **kwargs):
    """Build a DSAN model (see ``DSAN`` for the arguments)."""
    return DSAN(num_classes=num_classes, image_size=image_size, variant=variant, **kwargs)


def as_float32(model):
    """A float32 copy of a (possibly mixed-precision) DSAN with the same weights, for export and evaluation."""
    clone = DSAN.from_config({**model.get_config(), "dtype": "float32"})
    clone.set_weights(model.get_weights())
    return clone


def feature_size(num_splits) -> int | None:
    """d = C/F, the size of each MFF-AN chunk and of GFE-AN's features; None when F does not divide C."""
    num_splits = int(num_splits)
    return TRUNK_CHANNELS // num_splits if num_splits >= 1 and TRUNK_CHANNELS % num_splits == 0 else None


def _validate(num_classes, image_size, variant, alpha, num_splits, reduction, class_names, centre_update):
    if variant not in VARIANTS:
        raise ValueError(f"Unknown DSAN variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    if centre_update not in CENTRE_UPDATES:
        raise ValueError(f"Unknown centre update {centre_update!r}; expected one of {', '.join(CENTRE_UPDATES)}")
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    if class_names is not None and len(class_names) != int(num_classes):
        raise ValueError(f"{len(class_names)} class names given for num_classes={num_classes}")
    if int(image_size) < 32:
        raise ValueError(
            f"image_size {image_size} is too small for the ResNet-18 trunk (stride 32): use at least 32"
        )
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    dim = feature_size(num_splits)
    if dim is None:
        raise ValueError(f"split number F={num_splits} must divide the trunk's C={TRUNK_CHANNELS} channels")
    if not 1 <= int(reduction) <= dim:
        raise ValueError(f"reduction ratio r={reduction} must be >= 1 and at most d = {dim}")


def _recalibrated(outputs):
    """a*h1 in float32 (the features the class centres follow)."""
    return tf.cast(outputs["gfe_features"], tf.float32)


class CentreTracking(keras.metrics.Metric):
    """How well the class centres follow their classes (a diagnostic, not a loss).

    Accumulates, per class, the sum of the recalibrated features a*h1 and of their
    norms over the training examples seen since the last reset (one epoch in ``fit``).
    ``per_class()`` gives, per class, the cosine between the centre and the class's
    mean feature (``centre_cos_<class>``) and the ratio of the centre's norm to the
    class's mean feature norm (``centre_norm_ratio_<class>``), and the cosine between the
    centre and the attention-weighted class mean sum_i a_i*x_i / sum_i a_i per dimension
    (``centre_target_cos_<class>``): the point L_FR_C's pull on the centre converges to,
    which differs from the plain mean where the attention varies with the feature.
    ``result()`` gives the worst cosine and ratio, for the progress bar. A class with no
    example yet gives NaN.
    """

    def __init__(self, centres, class_names, name="centre"):
        super().__init__(name=name)
        # A callable, not an attribute: a Metric zeroes every variable it tracks on reset.
        self._centres = lambda: centres
        self.class_keys = [str(c).strip().lower().replace(" ", "_") for c in class_names]
        k, d = centres.shape
        self.feature_sum = self.add_variable((k, d), initializer="zeros", name="feature_sum")
        self.norm_sum = self.add_variable((k,), initializer="zeros", name="norm_sum")
        self.count = self.add_variable((k,), initializer="zeros", name="count")
        self.weighted_sum = self.add_variable((k, d), initializer="zeros", name="weighted_sum")
        self.attention_sum = self.add_variable((k, d), initializer="zeros", name="attention_sum")

    def update_state(self, features, labels, attention=None):
        members = tf.one_hot(labels, len(self.class_keys))
        attention = tf.ones_like(features) if attention is None else tf.cast(attention, tf.float32)
        self.feature_sum.assign_add(tf.matmul(members, features, transpose_a=True))
        self.weighted_sum.assign_add(tf.matmul(members, attention * features, transpose_a=True))
        self.attention_sum.assign_add(tf.matmul(members, attention, transpose_a=True))
        self.norm_sum.assign_add(tf.linalg.matvec(members, tf.norm(features, axis=-1), transpose_a=True))
        self.count.assign_add(tf.reduce_sum(members, axis=0))

    def _cosine_and_ratio(self):
        centres = tf.convert_to_tensor(self._centres(), tf.float32)
        count = tf.convert_to_tensor(self.count)
        seen = count > 0
        mean = tf.convert_to_tensor(self.feature_sum) / tf.maximum(count, 1.0)[:, None]
        target = tf.convert_to_tensor(self.weighted_sum) / tf.maximum(tf.convert_to_tensor(self.attention_sum), 1e-12)
        ratio = tf.norm(centres, axis=-1) / tf.maximum(tf.convert_to_tensor(self.norm_sum) / tf.maximum(count, 1.0), 1e-12)
        nan = tf.fill(tf.shape(count), float("nan"))
        return tuple(tf.where(seen, value, nan) for value in (_cosine(centres, mean), ratio, _cosine(centres, target))) + (seen,)

    def result(self):
        cosine, ratio, _, seen = self._cosine_and_ratio()
        any_seen = tf.reduce_any(seen)
        nan = tf.constant(float("nan"))
        return {
            "centre_cos_min": tf.where(any_seen, tf.reduce_min(tf.boolean_mask(cosine, seen)), nan),
            "centre_norm_ratio_max": tf.where(any_seen, tf.reduce_max(tf.boolean_mask(ratio, seen)), nan),
        }

    def per_class(self):
        """{"centre_cos_<class>": float, "centre_norm_ratio_<class>": float, "centre_target_cos_<class>": float, ...}."""
        cosine, ratio, target_cosine, _ = self._cosine_and_ratio()
        values = {}
        for key, cos, rat, target in zip(self.class_keys, cosine.numpy(), ratio.numpy(), target_cosine.numpy()):
            values[f"centre_cos_{key}"] = float(cos)
            values[f"centre_norm_ratio_{key}"] = float(rat)
            values[f"centre_target_cos_{key}"] = float(target)
        return values


def _cosine(a, b):
    """Row-wise cosine of two (K, d) tensors."""
    return tf.reduce_sum(a * b, axis=-1) / tf.maximum(tf.norm(a, axis=-1) * tf.norm(b, axis=-1), 1e-12)


def _has_layer(model, name):
    return any(layer.name == name for layer in model.layers)


def _add_weight_decay(grads, variables, decay, loss_scale=1.0):
    if not decay:
        return grads
    factor = decay * loss_scale
    return [g + tf.cast(factor, g.dtype) * tf.cast(v, g.dtype) for g, v in zip(grads, variables)]


def _unscale_or_zero(grads, scale):
    """Unscale mixed_float16 centre gradients by ``scale``, the loss scale they were computed with.

    A step whose network gradients overflow is skipped by the LossScaleOptimizer, but finite
    centre gradients still step the centres (exact once unscaled, and the per-class rules step
    the centres on every batch anyway); centre gradients that overflowed themselves are zeroed.
    """
    grads = [g / tf.cast(scale, g.dtype) for g in grads]
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
    return [tf.where(finite, g, tf.zeros_like(g)) for g in grads]

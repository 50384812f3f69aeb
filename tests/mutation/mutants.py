"""The mutants of the project's mutation check (issue 26; run with ``python tests/mutation/run.py``).

Each mutant is one plain text substitution in one file: ``old`` must occur EXACTLY ONCE in that file
(else the runner reports the mutant "stale": the code moved and the mutant must be rewritten; a stale
mutant is never counted as killed). ``tests`` are the pytest arguments of the tests that should catch
it: keep them small (a file, a ``-k`` subset), as the runner runs them once per mutant.
``why``: the bug it stands for and what it would cost a user.

To grow the list, add a ``Mutant(...)``; run ``python tests/mutation/run.py --check`` to verify the
strings without running any test, then ``python tests/mutation/run.py --only NAME``.
"""

from typing import NamedTuple


class Mutant(NamedTuple):
    name: str
    file: str  # relative to the repository root
    old: str
    new: str
    tests: tuple  # pytest arguments (files, -k expressions)
    why: str


def k(path, expression):
    return (path, "-k", expression)


MUTANTS = [
    # ------------------------------------------------------------------ the five survivors of issue 26 + the fix
    Mutant("sparse-attention-no-final-relu", "dsan_tf/layers.py",
           "        return ops.relu(x)\n", "        return x\n",
           ("tests/test_layers.py",),
           "Eq. 2's final ReLU dropped: 44 % of the attention values turn negative, the shipped model still "
           "passes a loose accuracy floor"),
    Mutant("sgd-scope-gfe-moves-the-gfe-classifier", "dsan_tf/model.py",
           'GFE_LAYERS = ("gfe_hfe", "sparse_attention")',
           'GFE_LAYERS = ("gfe_hfe", "sparse_attention", "gfe_classifier")',
           k("tests/test_model.py", "sgd_scope"),
           "--sgd-scope gfe puts GFE-AN's classifier on SGD (the paper trains both classifiers with Adam)"),
    Mutant("mixed-float16-centre-gradients-not-unscaled", "dsan_tf/model.py",
           "                sgd_grads = _unscale_or_zero(sgd_grads, scale)", "                sgd_grads = list(sgd_grads)",
           k("tests/test_centre_update.py", "mixed_float16"),
           "under mixed_float16 the loss-gradient centre step is multiplied by the loss scale (20,321 vs 0.62)"),
    Mutant("mixed-float16-no-loss-scaling", "dsan_tf/model.py",
           'scaled_loss = self.optimizer.scale_loss(terms["loss"])', 'scaled_loss = terms["loss"]',
           k("tests/test_model.py", "mixed_float16_network"),
           "no loss scaling: small float16 gradients flush to zero and the SGD step is 1/scale of the right one"),
    Mutant("rafdb-fear-and-disgust-swapped", "dsan_tf/data/classes.py",
           'RAFDB_CLASSES = ("surprise", "fear", "disgust",', 'RAFDB_CLASSES = ("surprise", "disgust", "fear",',
           ("tests/test_data_readers.py",),
           "RAF-DB codes 2 and 3 read as each other's class: a model trained on it confuses fear and disgust"),
    Mutant("mixed-float16-scale-read-after-the-step", "dsan_tf/model.py",
           "        scale = tf.convert_to_tensor(self._loss_scale(), tf.float32)\n",
           "        scale = self._loss_scale()\n",
           k("tests/test_centre_update.py", "mixed_float16"),
           "the issue-26 defect: on an overflow step the centres step by twice their gradient"),
    # ------------------------------------------------------------------ losses
    Mutant("fr-c-without-the-half", "dsan_tf/losses.py",
           "return 0.5 * ops.sum(weight * ops.square(recalibrated - centre), axis=-1)",
           "return ops.sum(weight * ops.square(recalibrated - centre), axis=-1)",
           ("tests/test_losses.py",),
           "Eq. 4's 1/2 dropped: L_FR_C weighs twice lambda1"),
    Mutant("fr-c-without-the-attention-weight", "dsan_tf/losses.py",
           "return 0.5 * ops.sum(weight * ops.square(recalibrated - centre), axis=-1)",
           "return 0.5 * ops.sum(ops.square(recalibrated - centre), axis=-1)",
           ("tests/test_losses.py",),
           "Eq. 4 without a': the recalibrated centre loss becomes a plain centre loss"),
    Mutant("stop-attention-gradient-ignored", "dsan_tf/losses.py",
           "weight = ops.stop_gradient(attention) if stop_attention_gradient else attention",
           "weight = attention",
           ("tests/test_losses.py",),
           "a' = stop_gradient(a) (DESIGN.md) silently lost: the attention is pushed to 0 by L_FR_C"),
    Mutant("ccs-without-the-plus-one", "dsan_tf/losses.py",
           "return ops.sum((cosine + 1.0) * off_diagonal)", "return ops.sum(cosine * off_diagonal)",
           ("tests/test_losses.py",),
           "Eq. 5's +1 dropped: the logged L_CCS and the loss value differ from the paper's"),
    Mutant("ccs-counts-the-diagonal", "dsan_tf/losses.py",
           'off_diagonal = 1.0 - ops.eye(k, dtype="float32")', 'off_diagonal = ops.ones((k, k), dtype="float32")',
           ("tests/test_losses.py",),
           "each centre's cosine with itself counted in L_CCS"),
    Mutant("fr-lambdas-swapped", "dsan_tf/losses.py",
           "return fr_ce + lambda1 * fr_c + lambda2 * ccs", "return fr_ce + lambda2 * fr_c + lambda1 * ccs",
           ("tests/test_losses.py",),
           "lambda1 and lambda2 of Eq. 6 exchanged: every --lambda1/--lambda2 ablation is mislabelled"),
    Mutant("total-loss-ce-weight-alpha", "dsan_tf/model.py",
           'total += (1.0 - s["alpha"]) * terms["ce_loss"]', 'total += s["alpha"] * terms["ce_loss"]',
           k("tests/test_model.py", "eq_11"),
           "Eq. 11's (1 - alpha) on L_CE replaced by alpha"),
    # ------------------------------------------------------------------ fusion and the network
    Mutant("fusion-weights-swapped", "dsan_tf/model.py",
           "            weights.append(1.0 - alpha)\n", "            weights.append(alpha)\n",
           k("tests/test_model.py", "fusion or variants"),
           "MFF-AN's fusion weight (1 - alpha) replaced by alpha: the probabilities no longer sum to 1"),
    Mutant("fusion-of-logits-not-probabilities", "dsan_tf/layers.py",
           'w * ops.softmax(ops.cast(z, "float32"), axis=-1)', 'w * ops.cast(z, "float32")',
           k("tests/test_model.py", "fusion or variants"),
           "decision fusion of raw logits instead of softmax probabilities"),
    Mutant("lfa-gate-relu-not-sigmoid", "dsan_tf/layers.py",
           'b = ops.sigmoid(ops.einsum("nfd,fd->nf", g, self.lfa_kernel) + self.lfa_bias)',
           'b = ops.relu(ops.einsum("nfd,fd->nf", g, self.lfa_kernel) + self.lfa_bias)',
           k("tests/test_model.py", "local_feature_attention"),
           "Eq. 8's sigmoid gate replaced: the gates are unbounded"),
    Mutant("batchnorm-epsilon", "dsan_tf/resnet.py",
           "BN_EPSILON = 1e-5", "BN_EPSILON = 1e-3",
           ("tests/test_layers.py",),
           "Keras' default epsilon instead of PyTorch's: converted PyTorch weights no longer reproduce"),
    Mutant("batchnorm-momentum", "dsan_tf/resnet.py",
           "BN_MOMENTUM = 0.9", "BN_MOMENTUM = 0.99",
           ("tests/test_layers.py",),
           "Keras' default momentum instead of PyTorch's 0.1: the moving statistics lag 10x"),
    Mutant("global-average-not-max-pooling", "dsan_tf/model.py",
           'pooled = layers.GlobalMaxPooling2D(name="global_max_pool", dtype=policy)(feature_map)',
           'pooled = layers.GlobalAveragePooling2D(name="global_max_pool", dtype=policy)(feature_map)',
           k("tests/test_model.py", "max_pooled"),
           "the paper's global MAX pooling replaced by average pooling (same parameter count)"),
    # ------------------------------------------------------------------ centre rules
    Mutant("centre-loss-rule-without-beta", "dsan_tf/model.py",
           'return (pulls + counts[:, None] * s["centre_separation_weight"] * push) / per_class',
           "return (pulls + counts[:, None] * push) / per_class",
           k("tests/test_centre_update.py", "one_centre_step and centre-loss"),
           "the default centre rule pushes with weight 1 instead of beta: no centre follows its class (issue 12)"),
    Mutant("class-normalised-push-divided", "dsan_tf/model.py",
           "        return pull / per_class + push\n", "        return (pull + push) / per_class\n",
           k("tests/test_centre_update.py", "one_centre_step and class-normalised"),
           "the class-normalised rule divides L_CCS's push by the class count too"),
    Mutant("present-classes-push-on-absent-centres", "dsan_tf/model.py",
           "            return (pull + counts[:, None] * push) / per_class\n",
           "            return (pull + push) / per_class\n",
           k("tests/test_centre_update.py", "one_centre_step and present-classes"),
           "present-classes pushes the centres of absent classes: rare centres run away"),
    Mutant("centre-rule-without-the-plus-one", "dsan_tf/model.py",
           "per_class = (1.0 + counts)[:, None]", "per_class = tf.maximum(counts, 1.0)[:, None]",
           k("tests/test_centre_update.py", "one_centre_step"),
           "Wen et al.'s 1 + n_k replaced by n_k: a one-example class's centre jumps onto the feature"),
    Mutant("centre-default-sgd-paper-rate", "dsan_tf/model.py",
           'DEFAULT_CENTRE_SGD = {"centre-loss": (0.05, 0.9)}', 'DEFAULT_CENTRE_SGD = {"centre-loss": (0.9, 0.9)}',
           k("tests/test_centre_update.py", "default_centre_sgd"),
           "the weight-free centre-loss step with SGD 0.9/0.9 diverges"),
    Mutant("centre-weight-decay-dropped", "dsan_tf/model.py",
           "            sgd_grads = _add_weight_decay(sgd_grads, sgd_vars, self.centre_weight_decay / replicas)\n",
           "",
           k("tests/test_centre_update.py", "weight_decay"),
           "--centre-weight-decay silently ignored"),
    # ------------------------------------------------------------------ data rules and preprocessing
    Mutant("ferplus-outlier-removal-keeps-single-votes", "dsan_tf/data/ferplus.py",
           "v[v <= 1.0] = 0.0", "v[v < 1.0] = 0.0",
           ("tests/test_data_ferplus.py",),
           "FERPlus' outlier removal (a single vote is noise) skipped: labels differ from the published ones"),
    Mutant("ferplus-majority-at-half", "dsan_tf/data/ferplus.py",
           "has_majority = v.max(axis=1) > 0.5 * total", "has_majority = v.max(axis=1) >= 0.5 * total",
           ("tests/test_data_ferplus.py",),
           "ties at exactly half the votes kept as majority labels"),
    Mutant("affectnet7-keeps-contempt", "dsan_tf/data/affectnet.py",
           "kept = [r for r in rows if r[2] < num_classes]", "kept = [r for r in rows if r[2] < 8]",
           ("tests/test_data_readers.py",),
           "AffectNet-7 keeps the contempt images (label 7 of a 7-class model)"),
    Mutant("imagenet-mean-bgr", "dsan_tf/data/preprocess.py",
           "IMAGENET_MEAN = (123.675, 116.28, 103.53)", "IMAGENET_MEAN = (103.53, 116.28, 123.675)",
           ("tests/test_mutant_survivors.py", "tests/test_data_preprocess.py"),
           "Caffe's BGR channel order: every image is mis-normalised against the pretrained trunk"),
    Mutant("imagenet-std-0-1-scale", "dsan_tf/data/preprocess.py",
           "IMAGENET_STD = (58.395, 57.12, 57.375)", "IMAGENET_STD = (0.229, 0.224, 0.225)",
           ("tests/test_mutant_survivors.py", "tests/test_data_preprocess.py"),
           "the 0..1-scale std with 0..255 pixels: inputs 255x too large"),
    Mutant("resize-without-antialias", "dsan_tf/data/preprocess.py",
           'return tf.image.resize(image, (image_size, image_size), method="bilinear",\n'
           "                           antialias=True)",
           'return tf.image.resize(image, (image_size, image_size), method="bilinear",\n'
           "                           antialias=False)",
           k("tests/test_mutant_survivors.py", "checkerboard"),
           "downscaling aliases (a 224 -> 64 crop skips pixels); the served model then sees other pixels "
           "than documented"),
    # ------------------------------------------------------------------ resume
    Mutant("resume-replays-the-seen-batches", "dsan_tf/training.py",
           "                        train_data(epoch).skip(skip),\n", "                        train_data(epoch),\n",
           k("tests/test_training.py", "resumed_run"),
           "a resumed run trains again on the batches before the checkpoint: not the uninterrupted run"),
    Mutant("resume-without-the-centre-optimiser", "dsan_tf/training.py",
           '            objects["centre_optimizer"] = model.centre_optimizer\n',
           "            pass\n",
           k("tests/test_training.py", "resumed_run"),
           "the centres' SGD momentum is not checkpointed: a resumed run's centres differ"),
    # ------------------------------------------------------------------ export signatures
    Mutant("export-class-id-from-the-gfe-stream", "dsan_tf/export.py",
           'class_id = tf.argmax(probabilities, axis=-1, output_type=tf.int64)',
           'class_id = tf.argmax(gfe, axis=-1, output_type=tf.int64)',
           k("tests/test_export.py", "fresh_tensorflow_only_process"),
           "the served class_id follows GFE-AN alone, not the fused prediction"),
    Mutant("export-pixels-signature-skips-normalisation", "dsan_tf/export.py",
           "return outputs_from_model_input(preprocess.preprocess_for_model(pixels, image_size))",
           "return outputs_from_model_input(tf.image.resize(pixels, (image_size, image_size)))",
           k("tests/test_export.py", "fresh_tensorflow_only_process"),
           "predict_pixels feeds raw 0..255 pixels to the model: confident nonsense over HTTP"),
    # ------------------------------------------------------------------ output policy and shipped weights
    Mutant("output-lock-shared", "dsan_tf/outputs.py",
           "fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)", "fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)",
           k("tests/test_mutant_survivors.py", "claim"),
           "two commands writing the same output both get the lock and interleave their files"),
    Mutant("output-inside-an-input-folder-allowed", "dsan_tf/outputs.py",
           "        if item.is_dir() and source in target.parents:\n",
           "        if False:\n",
           k("tests/test_mutant_survivors.py", "inside"),
           "an output written inside a dataset folder the command reads"),
    Mutant("shipped-weights-sha256-unchecked", "dsan_tf/pretrained.py",
           'if found != record["sha256"]:', "if False:",
           k("tests/test_pretrained.py", "damaged"),
           "a damaged or replaced shipped weights file is loaded without a word"),
    # ------------------------------------------------------------------ issue 25: the shipped model's inference
    Mutant("flip-average-mirrors-vertically", "dsan_tf/model.py",
           "keras.ops.flip(inputs, axis=2)", "keras.ops.flip(inputs, axis=1)",
           k("tests/test_calibration.py", "mean_over_the_face_and_its_mirror"),
           "test-time flip averaging averages a face with its upside-down copy: the shipped model's answers "
           "drop below what calibrate measured"),
    Mutant("ship-model-weights-unchecked", "dsan_tf/cli/ship_model.py",
           "if len(mine) != len(theirs) or any(", "if False and any(",
           k("tests/test_pretrained.py", "derived_model"),
           "dsan ship --model ships another run's model under this run's provenance and figures"),
]

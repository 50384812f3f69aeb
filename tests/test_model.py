"""The DSAN model: graph, variants, train/test step, serialisation, precision, bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dsan_tf import losses as L
from dsan_tf.layers import LocalFeatureAttention, SparseAttention
from dsan_tf.model import DSAN, as_float32, build_dsan

K, SIZE, BATCH = 4, 32, 8


def batch(seed=0, n=BATCH):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, SIZE, SIZE, 3)).astype("float32")
    y = np.eye(K, dtype="float32")[rng.integers(0, K, n)]
    return x, y


def compiled(variant="dsan", run_eagerly=True, **kwargs):
    keras.utils.set_random_seed(1)
    model = build_dsan(K, SIZE, variant, class_names=list("abcd"), **kwargs)
    # Eager steps: a few steps cost seconds, where tracing the step costs ~15 s (the traced
    # step is exercised by the training, run and distribution tests).
    model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=run_eagerly)
    return model


def test_local_feature_attention_equals_per_chunk_reference():
    layer = LocalFeatureAttention(num_splits=4)
    v = np.random.default_rng(0).normal(size=(3, 16)).astype("float32")
    h2, b = layer(v)
    W, bias = layer.hfe_kernel.numpy(), layer.hfe_bias.numpy()
    w_lfa, c_lfa = layer.lfa_kernel.numpy(), layer.lfa_bias.numpy()
    expected_h2, expected_b = np.zeros((3, 4)), np.zeros((3, 4))
    for f in range(4):  # Eqs. 8-9 written as F separate sub-networks
        g = np.maximum(v[:, 4 * f : 4 * f + 4] @ W[f] + bias[f], 0)
        expected_b[:, f] = 1 / (1 + np.exp(-(g @ w_lfa[f] + c_lfa[f])))
        expected_h2 += expected_b[:, f : f + 1] * g
    np.testing.assert_allclose(b, expected_b, rtol=1e-5)
    np.testing.assert_allclose(h2, expected_h2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", [SparseAttention(reduction=3, num_layers=2), LocalFeatureAttention(8, use_lfa=False)])
def test_layers_round_trip_through_config(layer):
    clone = layer.__class__.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_sparse_attention_parameter_counts_match_table7():
    paper = {1: 33536, 2: 16960, 3: 11262, 4: 8672, 5: 6859, 6: 5823}
    for r, count in paper.items():
        layer = SparseAttention(r)
        layer.build((None, 128))
        assert sum(int(np.prod(w.shape)) for w in layer.trainable_weights) == count


def test_dsan_has_the_papers_parameter_count():
    model = build_dsan(7, 64)
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    assert model.class_centres.shape == (7, 128)
    assert trainable - 7 * 128 == 11_327_506


@pytest.mark.parametrize(
    "variant, keys, absent",
    [
        ("dsan", {"gfe_logits", "mff_logits", "attention", "lfa_weights"}, {"logits"}),
        ("gfe", {"gfe_logits", "attention"}, {"mff_logits"}),
        ("mff", {"mff_logits", "lfa_weights"}, {"gfe_logits", "attention"}),
        ("baseline", {"logits"}, {"gfe_logits", "mff_logits"}),
    ],
)
def test_variants_have_their_streams(variant, keys, absent):
    model = build_dsan(K, SIZE, variant)
    out = model(batch()[0], training=False)
    assert keys <= set(out) and not absent & set(out)
    np.testing.assert_allclose(out["probabilities"].numpy().sum(axis=1), 1.0, rtol=1e-5)
    assert (model.class_centres is None) == (variant in ("mff", "baseline"))


def test_gfe_hidden_feature_is_hfe_of_the_global_max_pooled_trunk():
    """h1 = ReLU(W v + b) with v the global MAX pool of the trunk's feature map (Sect. 3; DESIGN.md), in NumPy
    from the trunk's own output and gfe_hfe's own weights (average pooling has the same parameter count)."""
    # 64 px: a 2x2 feature map (at the suite's 32 px it is 1x1, where max and average pooling agree).
    model = build_dsan(K, 64)
    x = np.random.default_rng(0).normal(size=(4, 64, 64, 3)).astype("float32")
    feature_map = keras.Model(model.inputs, model.get_layer("global_max_pool").input)(x).numpy()
    assert feature_map.shape[1:3] == (2, 2)
    hfe = model.get_layer("gfe_hfe")
    expected = np.maximum(feature_map.max(axis=(1, 2)) @ hfe.kernel.numpy() + hfe.bias.numpy(), 0.0)
    np.testing.assert_allclose(model(x, training=False)["gfe_hidden"].numpy(), expected, rtol=1e-4, atol=1e-5)


def test_single_stream_variants_fix_alpha():
    assert build_dsan(K, SIZE, "gfe", alpha=0.4).settings["alpha"] == 1.0
    assert build_dsan(K, SIZE, "mff", alpha=0.4).settings["alpha"] == 0.0


def test_fusion_is_alpha_weighted_softmax():
    model = build_dsan(K, SIZE, alpha=0.3)
    out = model(batch()[0], training=False)
    softmax = lambda z: tf.nn.softmax(z).numpy()  # noqa: E731
    expected = 0.3 * softmax(out["gfe_logits"]) + 0.7 * softmax(out["mff_logits"])
    np.testing.assert_allclose(out["probabilities"], expected, rtol=1e-5, atol=1e-7)


def test_test_step_loss_is_eq_11_of_the_outputs():
    model = compiled(alpha=0.4, lambda1=0.01, lambda2=0.02)
    x, y = batch()
    metrics = model.evaluate(x, y, batch_size=BATCH, return_dict=True, verbose=0)
    out = {k: v.numpy() for k, v in model(x, training=False).items()}
    labels = y.argmax(1)
    fr_ce = L.cross_entropy(y, out["gfe_logits"]).numpy().mean()
    fr_c = L.recalibrated_centre_loss(out["attention"], out["gfe_hidden"], model.class_centres, labels).numpy().mean()
    ccs = float(L.centre_separation_loss(model.class_centres))
    ce = L.cross_entropy(y, out["mff_logits"]).numpy().mean()
    expected = 0.4 * (fr_ce + 0.01 * fr_c + 0.02 * ccs) + 0.6 * ce
    assert metrics["loss"] == pytest.approx(expected, rel=1e-4)
    assert metrics["fr_c_loss"] == pytest.approx(fr_c, rel=1e-4)
    assert metrics["accuracy"] == pytest.approx(np.mean(out["probabilities"].argmax(1) == labels))


def test_integer_labels_equal_one_hot_targets():
    model = compiled()
    x, y = batch()
    a = model.evaluate(x, y, batch_size=BATCH, return_dict=True, verbose=0)
    b = model.evaluate(x, y.argmax(1), batch_size=BATCH, return_dict=True, verbose=0)
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-6)


def test_centres_are_updated_by_sgd_and_network_by_adam():
    model = build_dsan(K, SIZE)
    model.compile(optimizer=keras.optimizers.Adam(0.0), centre_optimizer=keras.optimizers.SGD(0.5), weight_decay=0.0,
                  run_eagerly=True)
    before = [v.numpy().copy() for v in model.trainable_variables]
    centres = model.class_centres.numpy().copy()
    model.train_on_batch(*batch())
    assert not np.allclose(model.class_centres.numpy(), centres)
    others = [v for v in model.trainable_variables if v is not model.class_centres]
    unchanged = [np.array_equal(v.numpy(), b) for v, b in zip(model.trainable_variables, before) if v is not model.class_centres]
    assert len(unchanged) == len(others) and all(unchanged)


def test_sgd_scope_gfe_moves_the_gfe_weights_to_sgd():
    model = build_dsan(K, SIZE)
    model.compile(optimizer=keras.optimizers.Adam(0.0), centre_optimizer=keras.optimizers.SGD(0.5), sgd_scope="gfe",
                  run_eagerly=True)
    hfe = model.get_layer("gfe_hfe").kernel.numpy().copy()
    attention = model.get_layer("sparse_attention").fc1.kernel.numpy().copy()
    mff = model.get_layer("mff_classifier").kernel.numpy().copy()
    # The paper trains "the second branch and the two classifiers" with Adam: GFE-AN's classifier stays on Adam.
    gfe_classifier = model.get_layer("gfe_classifier").kernel.numpy().copy()
    model.train_on_batch(*batch())
    assert not np.allclose(model.get_layer("gfe_hfe").kernel.numpy(), hfe)
    assert not np.allclose(model.get_layer("sparse_attention").fc1.kernel.numpy(), attention)
    np.testing.assert_array_equal(model.get_layer("mff_classifier").kernel.numpy(), mff)
    np.testing.assert_array_equal(model.get_layer("gfe_classifier").kernel.numpy(), gfe_classifier)


def test_training_reduces_the_loss_on_a_fixed_batch():
    # 3 eager steps: the loss falls by over half in them (2.56, 1.63, 1.16 when measured), and
    # they cost less than tracing the step once.
    model = compiled()
    x, y = batch()
    first = model.train_on_batch(x, y, return_dict=True)["loss"]
    for _ in range(2):
        last = model.train_on_batch(x, y, return_dict=True)["loss"]
    assert last < first


def test_keras_file_round_trip_keeps_weights_centres_optimisers_and_classes(tmp_path):
    model = compiled()
    x, y = batch()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded, DSAN) and loaded.class_names == list("abcd")
    np.testing.assert_allclose(loaded(x)["probabilities"], model(x)["probabilities"], atol=1e-6)
    np.testing.assert_array_equal(loaded.class_centres.numpy(), model.class_centres.numpy())
    for opt, opt2 in ((model.optimizer, loaded.optimizer), (model.centre_optimizer, loaded.centre_optimizer)):
        assert int(opt2.iterations) == int(opt.iterations) == 2
        for a, b in zip(opt.variables, opt2.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_checkpoint_restores_both_optimisers(tmp_path):
    model = compiled()
    x, y = batch()
    model.train_on_batch(x, y)
    ckpt = tf.train.Checkpoint(model=model, optimizer=model.optimizer, centre_optimizer=model.centre_optimizer)
    path = ckpt.save(tmp_path / "ckpt")
    model.train_on_batch(x, y)
    after_two = [v.numpy() for v in model.centre_optimizer.variables + model.optimizer.variables]
    fresh = compiled()
    tf.train.Checkpoint(model=fresh, optimizer=fresh.optimizer, centre_optimizer=fresh.centre_optimizer).restore(
        path
    ).assert_existing_objects_matched()
    assert int(fresh.centre_optimizer.iterations) == 1
    fresh.train_on_batch(x, y)
    for a, b in zip(after_two, [v.numpy() for v in fresh.centre_optimizer.variables + fresh.optimizer.variables]):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_checkpoint_with_the_centre_optimiser_as_its_own_entry_restores_through_the_model(tmp_path):
    # Runs checkpointed before the TrainingState dropped its redundant centre_optimizer entry name the
    # centre optimiser at the top; the object graph still links it from the model, which restores it.
    model = compiled()
    x, y = batch()
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    path = tf.train.Checkpoint(model=model, optimizer=model.optimizer, centre_optimizer=model.centre_optimizer).save(
        tmp_path / "old")
    names = [name for name, _ in tf.train.list_variables(path)]  # each variable once, by its shortest path
    assert "centre_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE" in names
    fresh = compiled()
    fresh.train_on_batch(x, y)  # builds its optimisers' variables (restored over below)
    tf.train.Checkpoint(model=fresh, optimizer=fresh.optimizer).restore(path).assert_existing_objects_matched()
    assert int(fresh.centre_optimizer.iterations) == 2
    for a, b in zip(model.centre_optimizer.variables, fresh.centre_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_steps_train_and_return_float32(policy):
    model = compiled(dtype=policy)
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.get_layer("conv1").compute_dtype == policy.split("_")[1]
    x, y = batch()
    centres = model.class_centres.numpy().copy()
    for _ in range(3):
        logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert not np.allclose(model.class_centres.numpy(), centres)
    assert model(x)["probabilities"].dtype == tf.float32
    exported = as_float32(model)
    assert exported.get_layer("conv1").compute_dtype == "float32"
    np.testing.assert_allclose(exported(x)["probabilities"], model(x)["probabilities"], atol=0.05)


def test_mixed_float16_network_step_equals_the_float32_step():
    """With plain SGD (whose step is proportional to the gradient, unlike Adam's), one mixed_float16 step moves
    the classifiers as the float32 step does: the loss is scaled before the float16 backward pass and the
    gradients unscaled after it. Without the scaling the step would be 1/scale of this one (or the small float16
    gradients would flush to zero)."""
    x, y = batch()
    steps = {}
    for policy in ("float32", "mixed_float16"):
        keras.utils.set_random_seed(1)
        model = build_dsan(K, SIZE, class_names=list("abcd"), dtype=policy)
        model.compile(optimizer=keras.optimizers.SGD(0.1), weight_decay=0.0, run_eagerly=True)
        if policy == "mixed_float16":
            model.optimizer.dynamic_scale.assign(2.0**4)  # the toy's float16 gradients overflow at 2**15
        before = {name: model.get_layer(name).kernel.numpy().copy() for name in ("gfe_classifier", "mff_classifier")}
        model.train_on_batch(x, y)
        if policy == "mixed_float16":
            assert float(model.optimizer.dynamic_scale.numpy()) == 2.0**4  # the step was taken, not skipped
        steps[policy] = {name: model.get_layer(name).kernel.numpy() - w for name, w in before.items()}
    for name, step in steps["float32"].items():
        assert np.abs(step).max() > 1e-4
        # float16 features: relative rounding of about 1e-3 per op.
        np.testing.assert_allclose(steps["mixed_float16"][name], step, rtol=0.05, atol=0.02 * np.abs(step).max())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"variant": "resnet"}, "Unknown DSAN variant"),
        ({"num_splits": 3}, "must divide"),
        ({"image_size": 16}, "too small"),
        ({"alpha": 1.5}, "alpha"),
        ({"reduction": 0}, "reduction"),
    ],
)
def test_bad_configuration_gets_a_clear_error(kwargs, message):
    args = {"num_classes": K, "image_size": SIZE, **kwargs}
    with pytest.raises(ValueError, match=message):
        build_dsan(**args)


def test_weights_of_another_shape_are_refused(tmp_path):
    seven = build_dsan(7, SIZE)
    seven.save_weights(tmp_path / "seven.weights.h5")
    with pytest.raises(ValueError, match="shape"):
        build_dsan(K, SIZE).load_weights(tmp_path / "seven.weights.h5")


# ---- round 5 blind mutants (issue 34)
def test_each_streams_accuracy_follows_its_own_logits():
    """r5-model-gfe-accuracy-from-mff-logits: gfe_accuracy is the share of examples whose GFE-AN logits'
    argmax is the label, mff_accuracy that of MFF-AN's logits; on this batch the two differ, so a column
    computed from the other stream's logits shows."""
    model = compiled()
    x, y = batch(seed=3)
    metrics = model.evaluate(x, y, batch_size=BATCH, return_dict=True, verbose=0)
    out = model(x, training=False)
    labels = y.argmax(1)
    gfe = np.mean(out["gfe_logits"].numpy().argmax(1) == labels)
    mff = np.mean(out["mff_logits"].numpy().argmax(1) == labels)
    assert gfe != mff  # the batch tells the streams apart
    assert metrics["gfe_accuracy"] == pytest.approx(gfe) and metrics["mff_accuracy"] == pytest.approx(mff)


# ---- issue 34: each configuration refusal at its boundary (checked before any layer is built)
@pytest.mark.parametrize("kwargs, message", [
    ({"num_classes": 1}, r"num_classes must be >= 2, got 1"),
    ({"class_names": list("abc")}, r"3 class names given for num_classes=4"),
    ({"class_names": list("abcde")}, r"5 class names given for num_classes=4"),
    ({"image_size": 31}, r"image_size 31 is too small .* use at least 32"),
    ({"alpha": -0.01}, r"alpha must lie in \[0, 1\], got -0.01"),
    ({"alpha": 1.01}, r"alpha must lie in \[0, 1\], got 1.01"),
    ({"num_splits": 0}, r"F=0 must divide the trunk's C=512 channels"),
    ({"num_splits": 1024}, r"F=1024 must divide"),
    ({"num_splits": 8, "reduction": 65}, r"r=65 must be >= 1 and at most d = 64"),
    ({"num_splits": 64, "reduction": 9}, r"r=9 must be >= 1 and at most d = 8"),
    ({"centre_update": "momentum"}, r"Unknown centre update 'momentum'; expected one of centre-loss, "),
])
def test_each_configuration_refusal_names_its_bound(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_dsan(**{"num_classes": K, "image_size": SIZE, **kwargs})


@pytest.mark.parametrize("kwargs", [
    {"num_classes": 2}, {"image_size": 32}, {"alpha": 0.0}, {"alpha": 1.0},
    {"num_splits": 8, "reduction": 64}, {"num_splits": 64, "reduction": 8}, {"num_splits": 1, "reduction": 1},
    {"class_names": list("abcd")},
])
def test_the_configuration_bounds_themselves_are_accepted(kwargs):
    from dsan_tf.model import _validate

    settings = {"num_classes": K, "image_size": SIZE, "variant": "dsan", "alpha": 0.5, "num_splits": 8,
                "reduction": 2, "class_names": None, "centre_update": "centre-loss", **kwargs}
    assert _validate(**settings) is None


def test_feature_size_is_the_trunk_channels_over_the_split_number():
    from dsan_tf.model import feature_size

    # C = 512 (ResNet-18's last stage), written here, not read from the module
    assert [feature_size(f) for f in (1, 2, 8, 64, 512)] == [512, 256, 64, 8, 1]
    assert [feature_size(f) for f in (0, -8, 3, 1024)] == [None, None, None, None]

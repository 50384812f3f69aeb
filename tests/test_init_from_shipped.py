"""`dsan train --init-from ferplus --image-size 96`: fine-tuning the shipped model at another input size
(progressive resizing, issue 33) starts from every one of its trained layers."""

import numpy as np

from dsan_tf.cli.run import build_settings, parse_args


def test_init_from_takes_a_shipped_models_name():
    settings = build_settings(parse_args(["--dataset", "ferplus", "--init-from", "ferplus", "--image-size", "96"]))
    assert settings["init_from"] == "ferplus" and settings["image_size"] == 96


def test_the_shipped_48px_model_initialises_every_layer_of_a_96px_dsan():
    from dsan_tf import pretrained
    from dsan_tf.model import build_dsan
    from dsan_tf.runner import initialise_from, load_trained_model

    source = load_trained_model("ferplus")
    config = pretrained.metadata("ferplus")["config"]
    target = build_dsan(num_classes=config["num_classes"], image_size=96, grayscale_input=config["grayscale_input"])
    copied, skipped = initialise_from(target, source)
    assert skipped == []
    assert len(copied) == len([layer for layer in target.layers if layer.weights]) > 40
    assert {"gfe_classifier", "mff_classifier"} <= set(copied)
    for name in copied:
        for got, want in zip(target.get_layer(name).get_weights(), source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(target.class_centres.numpy(), source.class_centres.numpy())

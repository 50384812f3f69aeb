import os

# Quieter TensorFlow logs in test output; deterministic ops for the equality tests.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The same TensorFlow kernels as the command-line tools (dsan_tf turns on oneDNN before
# TensorFlow loads; subprocesses inherit the setting).
import dsan_tf  # noqa: E402,F401

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def uninterrupted_run(tmp_path_factory):
    """test_training's DSAN after an uninterrupted fit_resumable of EPOCHS epochs: the run that the
    resume tests (test_training, test_bad_input_training) must end equal to. Trained once per
    session (~6 eager steps); read it, do not train it further."""
    from test_training import EPOCHS, fresh_model, train_data

    from dsan_tf.training import fit_resumable

    model = fresh_model()
    fit_resumable(model, train_data, EPOCHS, tmp_path_factory.mktemp("uninterrupted"), checkpoint_every=1, verbose=0)
    return model

"""An exponential moving average (EMA) of a model's weights, kept beside training (``dsan train --ema-decay``).

After every optimiser step each shadow copy moves towards its weight:
``shadow = d_n * shadow + (1 - d_n) * w``, with the warm-up of TensorFlow's
``tf.train.ExponentialMovingAverage(num_updates=n)`` (also timm's option):
``d_n = min(d, (1 + n) / (10 + n))``, ``n`` the updates made before this one. Chosen
because the shadows start at the starting weights (random, or --init-from's): without
warm-up, at d = 0.999 they still hold e^-1 = 37 % of them after 1,000 steps, so a short
run's EMA would be mostly its initialisation; with it the first update copies 90 % of
the weights, and at step n the average spans roughly the last n/9 steps until d is reached.

What is averaged: every float weight of the model (``model.weights``): the trainable
ones, BatchNorm's moving statistics (as timm's ModelEmaV2 averages a model's buffers:
the averaged network is evaluated with statistics of the same span of training), and
the class centres. The centres change no prediction; they are averaged too so that the
saved EMA model, a starting point for ``--init-from``, pairs the averaged network with
centres of the same span of training rather than with the last step's.

The shadows are variables made under the strategy's scope and checkpointed with the
model (dsan_tf.training.TrainingState), so an interrupted and resumed run ends with the
EMA of an uninterrupted one. :class:`UpdateAverage` updates them after every training
batch, in Keras' ``fit`` and in ``distribute.distributed_train`` alike (both call
``on_train_batch_end``); it must come before the callback that checkpoints the step.
"""

import keras
import tensorflow as tf

WARMUP = 10.0  # d_n = min(d, (1 + n) / (WARMUP + n))


def averaged_weights(model):
    """The model's weights the EMA follows: its float ones, in ``model.weights`` order."""
    return [w for w in model.weights if tf.as_dtype(w.dtype).is_floating]


class WeightAverage:
    """Shadow copies of ``model``'s float weights, averaged with ``decay`` in (0, 1).

    Create it inside ``strategy.scope()`` (as the model), after the starting weights are in place.
    ``checkpointed``: the object to add to a ``tf.train.Checkpoint`` (shadows and update count).
    """

    def __init__(self, model, decay):
        decay = float(decay)
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.weights = averaged_weights(model)
        self.checkpointed = tf.Module(name="ema")  # holds only the shadows: the model is checkpointed on its own
        self.checkpointed.shadows = [
            tf.Variable(tf.identity(w.value), trainable=False, name=f"ema_{i}") for i, w in enumerate(self.weights)
        ]
        self.checkpointed.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="ema_updates")
        self._update = tf.function(self._update_once)

    @property
    def shadows(self):
        return list(self.checkpointed.shadows)

    @property
    def updates(self):
        return self.checkpointed.updates

    def variables(self):
        return [*self.shadows, self.updates]

    def _update_once(self):
        n = tf.cast(self.updates, tf.float32)
        decay = tf.minimum(tf.constant(self.decay, tf.float32), (1.0 + n) / (WARMUP + n))
        for shadow, weight in zip(self.shadows, self.weights):
            shadow.assign(decay * shadow + (1.0 - decay) * tf.cast(weight.value, shadow.dtype))
        self.updates.assign_add(1)

    def update(self):
        """One EMA step from the model's current weights (call it after each optimiser step)."""
        self._update()

    def copy_to_model(self):
        """Put the averaged weights into the model (its own weights are overwritten)."""
        for shadow, weight in zip(self.shadows, self.weights):
            weight.assign(tf.cast(shadow, weight.dtype))


class UpdateAverage(keras.callbacks.Callback):
    """Update ``average`` after every training batch. A new one per ``fit`` call is fine: the state
    lives in the :class:`WeightAverage`, which outlives the per-epoch fits and is checkpointed."""

    def __init__(self, average):
        super().__init__()
        self.average = average

    def on_train_batch_end(self, batch, logs=None):
        self.average.update()

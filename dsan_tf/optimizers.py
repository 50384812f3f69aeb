"""Keras' Adam with TensorFlow's fused update kernel (issue 16).

Keras 3's Adam updates each variable with about ten separate ops (two moment updates, a
square, a square root, divisions, the assignment), each a pass over the variable's memory:
for ResNet-18's 11 M weights that is a few hundred MB of memory traffic per step, a visible
share of a CPU training step at small inputs. ``FusedAdam`` computes the same update with
``ResourceApplyAdam``, TensorFlow's one-pass Adam kernel (the one tf.compat.v1's Adam used):

    alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
    w -= alpha * m / (sqrt(v) + epsilon)

which is Keras' formula term for term, so results differ by float rounding only. Same slot
variables, same config: checkpoints and saved models move between the two freely. AMSGrad
and sparse gradients fall back to Keras' own update.
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="dsan_tf")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose dense update is one ``ResourceApplyAdam`` op per variable."""

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices) or not hasattr(variable, "handle"):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
            use_locking=False,
        )

"""The handout's RMSprop and BatchNormalization, same arithmetic, fewer passes over memory.

On a CPU, TensorFlow runs every op of a graph as a pass of its own over its tensor. Keras 3
writes pieces the handout uses as chains of small elementwise ops, a measurable share of a
training step on a small CPU (benchmarks/RESULTS.md, `python -m benchmarks --levers`):

- RMSprop's update (clip, square, two scalings, add, assign, add, sqrt, divide, assign_sub)
  over D's millions of weights. `FusedRMSprop` does the same ops in one XLA-compiled function
  per optimizer, one loop over the weights. Only this function is compiled; convolutions stay
  on oneDNN (XLA compiling a whole GAN step was slower on CPUs).
- BatchNormalization (G, 1.2b): Keras 3 computes the batch moments and the normalisation with
  separate ops; Keras 2, the handout's, called TensorFlow's fused kernel, and so does
  `BatchNormalization` here. Its moving averages are Keras 3's, to the formula.
- Dropout (D, 1.2a): Keras draws one 32-bit random number per activation; `Dropout` here
  draws 16 bits per activation (two per number, TensorFlow's same Philox generator), which
  halves the random numbers of D's three dropout layers. The drop probability is rate rounded
  to 1/65,536 (0.4 -> 0.399994) and the kept activations are scaled by the exact inverse of
  the keep probability.

Each falls back to Keras's own code wherever the fused path does not apply (another backend,
a distribution strategy, momentum or centred RMSprop, masks, renorm, another axis or rank).
Results agree with Keras's to float32 rounding (tests/train/test_fused.py).
"""
from __future__ import annotations

from typing import Any

import keras

PACKAGE = "inf395"


def _tensorflow() -> bool:
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return not tf.distribute.has_strategy()


@keras.saving.register_keras_serializable(package=PACKAGE)
class FusedRMSprop(keras.optimizers.RMSprop):
    """keras.optimizers.RMSprop whose per-step update is one compiled loop on TensorFlow."""

    def _fusable(self) -> bool:
        if self.momentum or self.centered or self.clipnorm or self.global_clipnorm:
            return False
        return not (self.use_ema or self.gradient_accumulation_steps) and _tensorflow()

    def _clip_gradients(self, grads):
        # clipvalue is applied inside the fused update (the same clip, one pass fewer).
        return grads if self._fusable() else super()._clip_gradients(grads)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if not self._fusable():
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        velocities = [self._velocities[self._get_variable_index(v)] for v in trainable_variables]
        unwrap = lambda v: v.value if isinstance(v, keras.Variable) else v  # noqa: E731
        import tensorflow as tf

        self._fused_update()([unwrap(v) for v in trainable_variables], [unwrap(v) for v in velocities],
                             list(grads), tf.convert_to_tensor(unwrap(learning_rate)))

    def _fused_update(self) -> Any:
        """One compiled function per optimizer (its weights' shapes are fixed): traced once."""
        fn = getattr(self, "_fused_fn", None)
        if fn is None:
            import tensorflow as tf

            rho, epsilon, clip = float(self.rho), float(self.epsilon), self.clipvalue

            @tf.function(jit_compile=True, autograph=False)
            def fn(variables, velocities, grads, learning_rate):
                for variable, velocity, gradient in zip(variables, velocities, grads):
                    gradient = tf.cast(gradient, variable.dtype)
                    if clip:
                        gradient = tf.clip_by_value(gradient, -clip, clip)
                    lr = tf.cast(learning_rate, variable.dtype)
                    # keras.optimizers.RMSprop.update_step, op for op.
                    velocity.assign(rho * velocity + (1 - rho) * tf.square(gradient))
                    variable.assign_sub((lr * gradient) / tf.sqrt(velocity + epsilon))

            self._fused_fn = fn
        return fn


@keras.saving.register_keras_serializable(package=PACKAGE)
class BatchNormalization(keras.layers.BatchNormalization):
    """keras.layers.BatchNormalization computed by TensorFlow's fused kernel, as Keras 2 did."""

    def _fusable(self, inputs: Any, mask: Any) -> bool:
        rank = len(inputs.shape)
        return (mask is None and rank in (2, 4) and self.axis in (-1, rank - 1) and self.center and self.scale
                and not self.renorm and not self.synchronized and _tensorflow())

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        x = inputs if len(inputs.shape) == 4 else tf.reshape(inputs, [-1, 1, 1, inputs.shape[-1]])
        # The kernel takes bfloat16 maps and computes the statistics in float32, as Keras's
        # upcast does; the output comes back in the layer's compute dtype.
        x = tf.cast(x, self.compute_dtype if self.compute_dtype in ("float32", "bfloat16") else "float32")
        gamma, beta = tf.cast(self.gamma.value, "float32"), tf.cast(self.beta.value, "float32")
        if training and self.trainable:
            y, mean, unbiased = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, epsilon=self.epsilon, data_format="NHWC", is_training=True)
            # The kernel returns the Bessel-corrected variance; Keras 3 averages the biased one.
            n = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), "float32")
            variance = tf.where(n > 1, unbiased * (n - 1) / tf.maximum(n, 1), tf.zeros_like(unbiased))
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, mean=tf.cast(self.moving_mean.value, "float32"),
                variance=tf.cast(self.moving_variance.value, "float32"),
                epsilon=self.epsilon, data_format="NHWC", is_training=False)
        y = tf.reshape(y, tf.shape(inputs))
        return tf.cast(y, self.compute_dtype)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Dropout(keras.layers.Dropout):
    """keras.layers.Dropout with a 16-bit uniform per activation on TensorFlow (half the RNG work)."""

    LEVELS = 1 << 16

    def call(self, inputs, training=False):
        if not (training and 0 < self.rate < 1 and self.noise_shape is None and _tensorflow()):
            return super().call(inputs, training=training)
        import tensorflow as tf

        drop = int(round(self.rate * self.LEVELS))        # 16-bit values below this are dropped
        scale = self.LEVELS / (self.LEVELS - drop)         # 1 / P(keep), exactly
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), tf.int32)
        n = tf.size(inputs)
        words = tf.random.stateless_uniform([(n + 1) // 2], seed=seed, minval=None, maxval=None, dtype=tf.uint32)
        bits = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:n]   # two 16-bit draws per 32-bit word
        keep = tf.cast(tf.reshape(bits >= drop, tf.shape(inputs)), inputs.dtype)
        return inputs * (keep * tf.cast(scale, inputs.dtype))


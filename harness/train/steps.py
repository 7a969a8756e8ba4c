"""A training step written once, as stateful Keras code, and run by TensorFlow or by JAX.

The VAE's and the GAN's steps (1.1e, 1.2c) read like the handout's maths: compute a loss,
take its gradient with respect to one network's weights, let that network's optimizer step.
`minimize` is the one place where the backends differ:

- TensorFlow (the CPU default): a `tf.GradientTape`; `compiled_scan` is a `tf.function`
  that loops over its input in the graph.
- JAX (a GPU machine with JAX and CUDA but no TensorFlow): Keras variables cannot be written
  inside a compiled JAX function, so `compiled_scan` runs the same code under a
  `keras.StatelessScope` that maps every variable the step touches to a value, jits it over
  those values with `jax.lax.scan` (on a CPU, one jitted step looped on the host), and writes
  the new values back after each call.
  `minimize` differentiates a nested stateless scope with `jax.value_and_grad`, and carries
  the state the forward pass moved (BatchNorm statistics, dropout and sampling seeds) back out.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Sequence

import keras

from harness.errors import ConfigError

BACKENDS = ("tensorflow", "jax")
_active = threading.local()   # the JAX scope of the compiled call being traced: (variables, scope)


def backend() -> str:
    name = keras.backend.backend()
    if name not in BACKENDS:
        raise ConfigError(f"KERAS_BACKEND={name!r} cannot train the harness's models: use tensorflow or jax")
    return name


def minimize(loss_fn: Callable[[], tuple[Any, Any]], variables: Sequence[Any],
             optimizer: keras.optimizers.Optimizer) -> tuple[Any, Any]:
    """One optimizer step on `variables` down the gradient of loss_fn()'s first output.

    loss_fn takes no argument and returns (loss, aux); so does minimize, after the step.
    """
    variables = list(variables)
    if not variables:
        # A network frozen in its own step (trainable = False): like Keras's train_on_batch, nothing
        # is updated, so the item's checks see the unchanged weights instead of an optimizer error.
        return loss_fn()
    if backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, aux = loss_fn()
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss, aux
    return _jax_minimize(loss_fn, variables, optimizer)


def _jax_minimize(loss_fn, variables, optimizer):
    import jax

    tracked, outer = getattr(_active, "scope", (None, None))
    if outer is None:
        raise RuntimeError("under JAX, minimize() runs inside a compiled_scan step")
    chosen = {id(v) for v in variables}
    others = [v for v in tracked if id(v) not in chosen]

    def loss_of(values):
        mapping = [(v, outer.get_current_value(v)) for v in others] + list(zip(variables, values))
        with keras.StatelessScope(state_mapping=mapping) as inner:
            loss, aux = loss_fn()
        return loss, (aux, [inner.get_current_value(v) for v in others])

    start = [outer.get_current_value(v) for v in variables]
    (loss, (aux, moved)), grads = jax.value_and_grad(loss_of, has_aux=True)(start)
    for v, value in zip(others, moved):  # BatchNorm statistics, seeds: kept in the outer scope
        v.assign(value)
    optimizer.apply(grads, variables)
    return loss, aux


def compiled_scan(step: Callable[[Any], Any], variables: Sequence[Any]) -> Callable[[Any], Any]:
    """A compiled function xs -> stack([step(x) for x in xs]), running the stateful step in order.

    `variables` are every Keras variable the step reads or writes (weights, optimizer slots,
    BatchNorm statistics, seed generators, metric trackers); JAX needs the list, TensorFlow
    tracks them by itself. `step` returns one tensor per call.
    """
    variables = list(variables)
    if backend() == "tensorflow":
        import tensorflow as tf

        @tf.function
        def run(xs):
            n = tf.shape(xs)[0]
            out = tf.TensorArray(tf.float32, size=n)
            for i in tf.range(n):
                out = out.write(i, tf.cast(step(xs[i]), tf.float32))
            return out.stack()

        return run
    return _jax_scan(step, variables)


def _jax_scan(step, variables):
    import jax
    import jax.numpy as jnp

    def body(carry, x):
        with keras.StatelessScope(state_mapping=list(zip(variables, carry))) as scope:
            _active.scope = (variables, scope)
            try:
                y = jnp.asarray(step(x), jnp.float32)
            finally:
                _active.scope = (None, None)
        return [scope.get_current_value(v) for v in variables], y

    def pure(values, xs):
        return jax.lax.scan(body, values, xs)

    # XLA's CPU backend runs a convolution inside a scan's loop many times slower than the same
    # step jitted alone (benchmarks/RESULTS.md): on the CPU the host loops over one compiled step,
    # on an accelerator the whole scan is one call.
    on_host = jax.default_backend() == "cpu"
    compiled = jax.jit(body if on_host else pure)

    def run(xs):
        values = [v.value for v in variables]
        if on_host:
            ys = []
            for x in xs:
                values, y = compiled(values, x)
                ys.append(y)
            ys = jnp.stack(ys)
        else:
            values, ys = compiled(values, xs)
        for v, value in zip(variables, values):
            v.assign(value)
        return ys

    return run


def run_once(fn: Callable[[], Any], variables: Sequence[Any]) -> Any:
    """fn() (stateful, returning one tensor) compiled and run once: a single training step
    outside a training loop, e.g. 1.2c's freezing proof. JAX cannot run minimize() eagerly."""
    import numpy as np

    return compiled_scan(lambda _: fn(), variables)(np.zeros((1,), "int32"))[0]


def state_of(*objects: Any) -> list[Any]:
    """Every variable of these models and optimizers (metric trackers included), each once."""
    seen: dict[int, Any] = {}
    for obj in objects:
        for v in list(obj.variables) + list(getattr(obj, "metrics_variables", [])):
            seen.setdefault(id(v), v)
    return list(seen.values())

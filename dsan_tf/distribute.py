"""Distribution: pick a ``tf.distribute`` strategy, and a training loop for multi-worker runs.

Which driver runs the step
--------------------------
The step is written once, in ``DSAN.train_step``/``DSAN.test_step``. On one
machine (default strategy or ``MirroredStrategy``) ``model.fit`` drives it.
Keras 3's ``fit`` does not run under ``MultiWorkerMirroredStrategy``
(keras-team/keras#20585: it fails converting a ``PerReplica`` value), so
:func:`distributed_train` drives the same ``model.train_step`` through
``strategy.run`` over ``strategy.distribute_datasets_from_function``. Decision:
``fit`` wherever it runs (progress bar, validation, every callback), this loop only
where it must (:func:`needs_custom_loop`). The loop itself is strategy-agnostic: it
gives what ``fit`` gives under the default strategy (tests/test_distribute.py) and,
checked once, under ``MirroredStrategy``; calling it once per epoch traces the step
once.

Averaging
---------
DSAN's step averages per-example losses over the GLOBAL batch
(``tf.nn.compute_average_loss``), scales L_CCS by 1/replicas
(``tf.nn.scale_regularization_loss``) and adds 1/replicas of the L2 weight decay
on every replica; Keras' optimiser SUMs gradients over replicas; BatchNorm is
synchronised. So N replicas make the update of one replica on the same global
batch. For that to hold, every replica must get the same number of examples:
batch with ``drop_remainder=True`` (as :func:`make_dataset_fn` does).

"The same update" holds up to float32 rounding, which differs between 1 and N
replicas (relative ~1e-5 in deep activations: Keras' synchronised BatchNorm computes
the variance as E[x^2] - E[x]^2). Where rounding moves a ReLU input across 0 the
gradient jumps for that unit, so on some batches 1 and N replicas drift apart by
1e-4..1e-3 within a few steps; in float64 they agree to ~1e-7 on every batch tried.
"""

import json
import logging
import os
import weakref

import keras
import tensorflow as tf

logger = logging.getLogger(__name__)


def pick_strategy(devices=None):
    """The distribution strategy for this process.

    - ``MultiWorkerMirroredStrategy`` when the ``TF_CONFIG`` environment variable is set
      (one process per machine; create it at program start, before any other TF op);
    - ``MirroredStrategy(devices)`` when ``devices`` are given, or over all local GPUs
      when there are two or more;
    - otherwise the default strategy (``tf.distribute.get_strategy()``).

    Logs the choice and the number of replicas in sync. A device that does not exist
    here is a ValueError naming the devices that do (MirroredStrategy would silently
    run on the CPU instead).
    """
    if os.environ.get("TF_CONFIG"):
        if devices:
            raise ValueError("devices cannot be given with TF_CONFIG (multi-worker runs use each worker's devices)")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        task = json.loads(os.environ["TF_CONFIG"]).get("task", {})
        detail = f" (task {task.get('type')}:{task.get('index')}, {strategy.cluster_resolver.cluster_spec().num_tasks('worker')} workers)"
    elif devices:
        check_devices(devices)
        strategy = tf.distribute.MirroredStrategy(list(devices))
        detail = f" over {', '.join(devices)}"
    else:
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) >= 2:
            strategy = tf.distribute.MirroredStrategy([d.name for d in gpus])
            detail = f" over {len(gpus)} GPUs"
        else:
            strategy = tf.distribute.get_strategy()
            detail = ""
    logger.info("Distribution: %s%s, %d replica(s) in sync", type(strategy).__name__, detail, strategy.num_replicas_in_sync)
    return strategy


def check_devices(devices):
    """ValueError unless every name in ``devices`` ("/gpu:0", "GPU:1", "/cpu:0", ...) is a device of this machine."""
    present = tf.config.list_logical_devices()
    known = {(spec.device_type, spec.device_index) for spec in (tf.DeviceSpec.from_string(d.name) for d in present)}
    for name in devices:
        try:
            spec = tf.DeviceSpec.from_string(name)
        except ValueError:
            spec = None
        if spec is None or (spec.device_type, spec.device_index) not in known:
            raise ValueError(f"--devices: {name} is not a device of this machine; "
                             f"it has {', '.join(d.name for d in present)}")


def needs_custom_loop(strategy):
    """True where ``model.fit`` cannot run and :func:`distributed_train` must (multi-worker)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief():
    """Whether this process should write checkpoints, logs and exports.

    Without ``TF_CONFIG``: always. With it: the ``chief`` task, or worker 0 when the
    cluster has no chief. Under ``MultiWorkerMirroredStrategy`` pass writing callbacks
    (``ModelCheckpoint``, ``TensorBoard``) to :func:`distributed_train` on the chief only.
    """
    config = os.environ.get("TF_CONFIG")
    if not config:
        return True
    config = json.loads(config)
    task = config.get("task", {})
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type", "worker") == "worker" and int(task.get("index", 0)) == 0


def make_dataset_fn(make_examples, global_batch_size):
    """A ``dataset_fn(input_context)`` for ``strategy.distribute_datasets_from_function``.

    ``make_examples()`` returns an unbatched ``tf.data.Dataset`` of ``(image, label)``
    that is the same on every worker (shuffle with a fixed seed, ``.repeat()`` for
    several epochs). Each input pipeline (one per worker) keeps its shard of the
    examples and batches them by the per-replica batch size, dropping the remainder,
    so that a global step sees ``global_batch_size`` examples split evenly.
    """

    def dataset_fn(input_context):
        dataset = make_examples()
        if input_context.num_input_pipelines > 1:
            dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        batch = input_context.get_per_replica_batch_size(global_batch_size)
        return dataset.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    return dataset_fn


def _metric_results(model):
    # {m.name: m.result()} (a metric returning a dict is flattened, as fit does). Called in
    # cross-replica context: reading a metric's SUM/on-read variables there sums them over
    # all replicas (and workers), so the results are global.
    return model.get_metrics_result()


def _to_logs(results):
    return {name: float(value) for name, value in results.items()}


def distributed_train(
    model,
    strategy,
    dataset_fn,
    epochs,
    steps_per_epoch,
    callbacks=None,
    initial_epoch=0,
    validation_fn=None,
    validation_steps=None,
    verbose=0,
):
    """Train ``model`` with its own ``train_step`` under ``strategy``; returns a ``History``.

    Required under ``MultiWorkerMirroredStrategy`` (Keras 3's ``fit`` does not run
    there); it works under any strategy and gives what ``fit`` gives for the same
    global batches (tests/test_distribute.py).

    Args:
        model: a compiled model (built and compiled inside ``strategy.scope()``).
        strategy: the strategy, e.g. from :func:`pick_strategy`.
        dataset_fn: ``dataset_fn(input_context)`` returning per-replica batches
            (see :func:`make_dataset_fn`). Its iterator continues across epochs, so
            the dataset should repeat.
        epochs, initial_epoch: as in ``fit``; epochs ``initial_epoch .. epochs-1`` run.
        steps_per_epoch: global steps per epoch (required: every worker must run the
            same number of steps).
        callbacks: Keras callbacks, driven as ``fit`` drives them (epoch/batch hooks,
            ``model.stop_training``). Under multi-worker training give writing
            callbacks on the chief only (:func:`is_chief`).
        validation_fn, validation_steps: an optional ``dataset_fn`` for validation,
            run with ``model.test_step`` after each epoch; its metrics get a ``val_`` prefix.
        verbose: 1 adds Keras' progress bar.

    Metrics are reset at the start of every epoch (and before validation); the logs
    hold ``{m.name: m.result()}`` summed over replicas, i.e. global running means.
    """
    if not steps_per_epoch or steps_per_epoch < 1:
        raise ValueError("distributed_train needs steps_per_epoch >= 1 (all workers must run the same steps)")
    if validation_fn is not None and not validation_steps:
        raise ValueError("validation_fn needs validation_steps")
    if not getattr(model, "compiled", False):
        raise ValueError("Compile the model inside strategy.scope() before distributed_train")

    with strategy.scope():
        iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))
    train_function = _step_function(model, strategy, "train_step")
    val_function = _step_function(model, strategy, "test_step") if validation_fn is not None else None

    callback_list = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps_per_epoch,
    )
    model.stop_training = False
    callback_list.on_train_begin()
    logs = {}
    for epoch in range(initial_epoch, epochs):
        for metric in model.metrics:
            metric.reset_state()
        callback_list.on_epoch_begin(epoch)
        for step in range(steps_per_epoch):
            callback_list.on_train_batch_begin(step)
            logs = _to_logs(train_function(iterator))
            callback_list.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        if val_function is not None:
            epoch_logs.update(_evaluate(model, strategy, val_function, validation_fn, validation_steps))
        callback_list.on_epoch_end(epoch, epoch_logs)
        logs = epoch_logs
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
    return next(c for c in callback_list.callbacks if isinstance(c, keras.callbacks.History))


# model -> {step name: (weak refs to what the trace captured, tf.function)}, so that calling
# distributed_train once per epoch (as a resumable runner does) traces the step once. The
# entry is dropped when the strategy or an optimiser changes (a new compile()).
_STEP_FUNCTIONS = weakref.WeakKeyDictionary()


def _step_function(model, strategy, step):
    functions = _STEP_FUNCTIONS.setdefault(model, {})
    captured = (strategy, model.optimizer, getattr(model, "centre_optimizer", None))
    entry = functions.get(step)
    if entry is None or any(ref() is not obj for ref, obj in zip(entry[0], captured) if obj is not None):
        model_ref = weakref.ref(model)  # the cache must not keep the model alive

        @tf.function
        def function(iterator):
            # The model's own train_step/test_step: never a second copy of the step.
            strategy.run(getattr(model_ref(), step), args=(next(iterator),))
            return _metric_results(model_ref())

        entry = functions[step] = (tuple(weakref.ref(obj) if obj is not None else (lambda: None) for obj in captured), function)
    return entry[1]


def _evaluate(model, strategy, val_function, validation_fn, steps):
    for metric in model.metrics:
        metric.reset_state()
    with strategy.scope():
        iterator = iter(strategy.distribute_datasets_from_function(validation_fn))
    results = {}
    for _ in range(steps):
        results = val_function(iterator)
    return {f"val_{name}": value for name, value in _to_logs(results).items()}

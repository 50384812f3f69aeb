"""Resumable training of a compiled DSAN: optimisers, schedules, step checkpoints, logs.

Training runs one ``model.fit`` call per epoch over that epoch's dataset
(``train_data(epoch)``, deterministic per epoch for a given seed). A
``tf.train.Checkpoint`` of the model, both optimisers and the position
(epoch, step in epoch) is written every ``checkpoint_every`` steps and at each
epoch's end; ``resume=True`` restores it and skips the batches already seen, so
an interrupted run ends with the weights of an uninterrupted one.
"""

import dataclasses
import json
import logging
import time
from pathlib import Path

import keras
import tensorflow as tf

log = logging.getLogger(__name__)


@dataclasses.dataclass
class OptimiserSettings:
    learning_rate: float = 1e-3
    schedule: str = "exponential"  # "exponential" (paper: x0.6 per epoch), "cosine", "constant"
    decay_rate: float = 0.6
    warmup_epochs: float = 0.0
    weight_decay: float = 1e-4
    centre_learning_rate: float = 0.9
    centre_momentum: float = 0.9
    centre_weight_decay: float = 1e-4
    sgd_scope: str = "centres"


SCHEDULES = ("exponential", "cosine", "constant")


def learning_rate_schedule(settings, steps_per_epoch, epochs):
    """The network's learning rate as a function of the optimizer step."""
    if settings.schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {settings.schedule!r}; expected one of {SCHEDULES}")
    warmup = int(settings.warmup_epochs * steps_per_epoch)
    if settings.schedule == "cosine":
        total = max(1, epochs * steps_per_epoch - warmup)
        if warmup:
            return keras.optimizers.schedules.CosineDecay(
                0.0, total, alpha=0.0, warmup_target=settings.learning_rate, warmup_steps=warmup
            )
        return keras.optimizers.schedules.CosineDecay(settings.learning_rate, total)
    if settings.schedule == "exponential":
        # PyTorch's ExponentialLR stepped once per epoch.
        return keras.optimizers.schedules.ExponentialDecay(
            settings.learning_rate, steps_per_epoch, settings.decay_rate, staircase=True
        )
    return settings.learning_rate


def compile_for_training(model, settings, steps_per_epoch, epochs):
    """Adam for the network, SGD for the class centres (DESIGN.md, Optimisation)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate_schedule(settings, steps_per_epoch, epochs)),
        centre_optimizer=keras.optimizers.SGD(settings.centre_learning_rate, momentum=settings.centre_momentum),
        weight_decay=settings.weight_decay,
        centre_weight_decay=settings.centre_weight_decay,
        sgd_scope=settings.sgd_scope,
    )
    return model


class TrainingState:
    """The checkpointed state: model, both optimisers, and the position in training."""

    def __init__(self, model, directory, max_to_keep=2):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
        objects = dict(model=model, optimizer=model.optimizer, epoch=self.epoch, step_in_epoch=self.step_in_epoch)
        if getattr(model, "centre_optimizer", None) is not None:
            objects["centre_optimizer"] = model.centre_optimizer
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=max_to_keep)

    def save(self, epoch, step_in_epoch):
        self.epoch.assign(epoch)
        self.step_in_epoch.assign(step_in_epoch)
        return self.manager.save()

    def restore_latest(self):
        """Restore the newest checkpoint; returns (epoch, step_in_epoch) or None when there is none."""
        path = self.manager.latest_checkpoint
        if path is None:
            return None
        self.checkpoint.restore(path).assert_existing_objects_matched()
        return int(self.epoch.numpy()), int(self.step_in_epoch.numpy())


class StepCheckpoint(keras.callbacks.Callback):
    """Save the training state every ``every`` steps within an epoch (and on a time budget stop)."""

    def __init__(self, state, epoch, first_step, every):
        super().__init__()
        self.state, self.epoch, self.step, self.every = state, epoch, first_step, every

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.every and self.step % self.every == 0:
            self.state.save(self.epoch, self.step)


class CentreDiagnostics(keras.callbacks.Callback):
    """Adds the per-class centre diagnostics of ``DSAN.centre_tracking`` to each epoch's logs (history.csv).

    Read before validation starts (``evaluate`` resets every metric), or at the
    epoch's end when there is no validation.
    """

    def __init__(self):
        super().__init__()
        self.values = None

    def on_epoch_begin(self, epoch, logs=None):
        self.values = None

    def on_test_begin(self, logs=None):
        if self.values is None:
            self.values = self.model.centre_tracking.per_class()

    def on_epoch_end(self, epoch, logs=None):
        values = self.values if self.values is not None else self.model.centre_tracking.per_class()
        if logs is not None:
            logs.update(values)


class TimeBudget(keras.callbacks.Callback):
    """Stop training when a wall-clock budget is spent (checked after every step)."""

    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline
        self.expired = False

    def on_train_batch_end(self, batch, logs=None):
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.expired = True
            self.model.stop_training = True


def fit_resumable(
    model,
    train_data,
    epochs,
    output_dir,
    *,
    strategy=None,
    steps_per_epoch=None,
    validation_data=None,
    resume=False,
    checkpoint_every=200,
    time_budget_s=None,
    verbose=1,
    extra_callbacks=(),
):
    """Train ``model`` (already compiled) for ``epochs`` epochs; returns a summary dict.

    ``train_data(epoch, input_context=None)`` returns that epoch's ``tf.data.Dataset``.
    Logs go to ``output_dir/history.csv`` and ``output_dir/tensorboard``; checkpoints
    to ``output_dir/checkpoints``. Under ``MultiWorkerMirroredStrategy`` (where Keras'
    ``fit`` cannot run) each epoch is driven by ``distribute.distributed_train`` over the
    same ``model.train_step``; it needs ``steps_per_epoch``, the chief writes the logs and
    checkpoints, and the other workers checkpoint to a scratch folder (the collective
    save needs every worker).
    """
    from dsan_tf.distribute import distributed_train, is_chief, needs_custom_loop

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    custom_loop = strategy is not None and needs_custom_loop(strategy)
    if custom_loop and not steps_per_epoch:
        raise ValueError("multi-worker training needs steps_per_epoch")
    chief = is_chief(strategy)
    checkpoint_dir = output_dir / "checkpoints" if chief else output_dir / ".worker-checkpoints" / str(id(model))
    state = TrainingState(model, checkpoint_dir)
    start_epoch, start_step = 0, 0
    if resume:
        position = state.restore_latest()
        if position is None:
            raise FileNotFoundError(f"--resume: no checkpoint in {output_dir / 'checkpoints'}")
        start_epoch, start_step = position
        log.info("resuming at epoch %d, step %d", start_epoch + 1, start_step)
    deadline = time.monotonic() + time_budget_s if time_budget_s else None
    budget = TimeBudget(deadline)
    started = time.monotonic()
    for epoch in range(start_epoch, epochs):
        skip = start_step if epoch == start_epoch else 0
        callbacks = [StepCheckpoint(state, epoch, skip, checkpoint_every), budget, *extra_callbacks]
        if getattr(model, "centre_tracking", None) is not None:
            callbacks.append(CentreDiagnostics())  # before the CSV logger, which writes what it adds
        if chief:
            callbacks += [
                keras.callbacks.CSVLogger(str(output_dir / "history.csv"), append=True),
                keras.callbacks.TensorBoard(str(output_dir / "tensorboard"), write_graph=False),
            ]
        try:
            if custom_loop:
                distributed_train(
                    model, strategy, lambda context, e=epoch: train_data(e, context).skip(skip),
                    epochs=epoch + 1, initial_epoch=epoch, steps_per_epoch=steps_per_epoch - skip,
                    callbacks=callbacks, verbose=verbose,
                )
            else:
                model.fit(
                    train_data(epoch).skip(skip),
                    initial_epoch=epoch,
                    epochs=epoch + 1,
                    validation_data=validation_data,
                    callbacks=callbacks,
                    verbose=verbose,
                )
        except KeyboardInterrupt:
            state.save(epoch, callbacks[0].step)
            log.warning("interrupted: saved epoch %d step %d; rerun with --resume", epoch + 1, callbacks[0].step)
            raise
        if budget.expired:
            log.warning("time budget of %.0f s spent during epoch %d: stopping early", time_budget_s, epoch + 1)
            state.save(epoch, callbacks[0].step)
            break
        state.save(epoch + 1, 0)
    return {
        "epochs_completed": int(state.epoch.numpy()),
        "stopped_by_time_budget": budget.expired,
        "train_seconds": time.monotonic() - started,
        "resumed_from": {"epoch": start_epoch, "step": start_step} if resume else None,
    }


def read_json(path):
    with open(path) as f:
        return json.load(f)

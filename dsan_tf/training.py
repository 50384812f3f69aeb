"""Resumable training of a compiled DSAN: optimisers, schedules, step checkpoints, logs.

Training runs one ``model.fit`` call per epoch over that epoch's dataset
(``train_data(epoch)``, deterministic per epoch for a given seed). A
``tf.train.Checkpoint`` of the model, both optimisers and the position
(epoch, step in epoch) is written every ``checkpoint_every`` steps and at each
epoch's end; ``resume=True`` restores it and skips the batches already seen, so
an interrupted run ends with the weights of an uninterrupted one.

Ctrl-C (SIGINT) does not stop training where it lands: it would land between the
optimiser's step and the callback that counts it, and the checkpoint would name a
step the weights have already passed. The first Ctrl-C asks training to stop at the
next step boundary; the step is counted, checkpointed, and :class:`TrainingInterrupted`
raised. A second Ctrl-C stops at once, keeping the last checkpoint.
"""

import dataclasses
import errno
import logging
import shutil
import signal
import threading
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from dsan_tf.ema import UpdateAverage
from dsan_tf.errors import UserError
from dsan_tf.model import default_centre_sgd
from dsan_tf.optimizers import FusedAdam

log = logging.getLogger(__name__)


@dataclasses.dataclass
class OptimiserSettings:
    learning_rate: float = 1e-3
    schedule: str = "exponential"  # "exponential" (paper: x0.6 per epoch), "cosine", "constant"
    decay_rate: float = 0.6
    warmup_epochs: float = 0.0
    weight_decay: float = 1e-4
    centre_learning_rate: float | None = None  # None: what suits the model's centre update
    centre_momentum: float | None = None
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
    """Adam for the network (Keras' Adam on TensorFlow's fused kernel), SGD for the class centres (DESIGN.md, Optimisation)."""
    rate, momentum = default_centre_sgd(getattr(model, "settings", {}).get("centre_update", "centre-loss"),
                                        settings.centre_learning_rate, settings.centre_momentum)
    model.compile(
        optimizer=FusedAdam(learning_rate_schedule(settings, steps_per_epoch, epochs)),
        centre_optimizer=keras.optimizers.SGD(rate, momentum=momentum),
        weight_decay=settings.weight_decay,
        centre_weight_decay=settings.centre_weight_decay,
        sgd_scope=settings.sgd_scope,
    )
    return model


CHECKPOINT_PREFIX = "ckpt"
RUNNING_METRICS = "running-metrics.json"  # beside the checkpoints: the epoch's metric sums at a mid-epoch save


class CheckpointError(UserError):
    """A checkpoint cannot be written (a full disk, no permission) or none of them restores."""


def checkpoint_numbers(directory) -> list:
    """The N of every ``ckpt-N`` in ``directory`` with an index file, newest first: found on disk,
    so a run whose ``checkpoint`` state file is missing or stale still finds its checkpoints."""
    directory = Path(directory)
    numbers = set()
    if directory.is_dir():
        for path in directory.glob(f"{CHECKPOINT_PREFIX}-*.index"):
            number = path.name[len(CHECKPOINT_PREFIX) + 1:-len(".index")]
            if number.isdigit():
                numbers.add(int(number))
    return sorted(numbers, reverse=True)


def clean_checkpoint_temporaries(directory) -> list:
    """Delete what a killed or failed checkpoint write left: ``ckpt-N_temp`` folders (the shards
    TensorFlow writes before merging them, 74 MB for a DSAN) and ``checkpoint.tmp*`` state files.
    Call it only while holding the run directory (another run could be writing them)."""
    directory = Path(directory)
    removed = []
    if not directory.is_dir():
        return removed
    for path in [*directory.glob(f"{CHECKPOINT_PREFIX}-*_temp*"), *directory.glob("checkpoint.tmp*")]:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.warning("removed %d temporary file(s) of an interrupted checkpoint write in %s: %s", len(removed),
                    directory, ", ".join(p.name for p in removed))
    return removed


class TrainingState:
    """The checkpointed state: model, both optimisers, the position in training, and the EMA of the
    weights when there is one (``ema``: a :class:`dsan_tf.ema.WeightAverage`)."""

    def __init__(self, model, directory, max_to_keep=2, ema=None):
        self.directory = Path(directory)
        self.model = model
        self.ema = ema
        self.running = None  # the epoch's metric variables at the restored (mid-epoch) checkpoint, if known
        self.epoch_trained = False  # the restored checkpoint follows its epoch's last step (validation not done)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
        # The centre optimiser needs no entry: the model tracks it (model/centre_optimizer/... in the checkpoint).
        objects = dict(model=model, optimizer=model.optimizer, epoch=self.epoch, step_in_epoch=self.step_in_epoch)
        if ema is not None:
            objects["ema"] = ema.checkpointed
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=max_to_keep)
        self.saved = None  # (epoch, step_in_epoch) of the newest complete checkpoint, once there is one

    def save(self, epoch, step_in_epoch, running=None, epoch_trained=False):
        """Write a checkpoint; ``running``: the metric variables' values at a mid-epoch save (so the
        resumed epoch's history row covers the whole epoch); ``epoch_trained``: the save follows the
        epoch's last step, before its validation (a resume then validates it and trains nothing).
        CheckpointError, one line saying how much space a checkpoint needs, when the disk is full; the
        partial write is removed."""
        self.epoch.assign(epoch)
        self.step_in_epoch.assign(step_in_epoch)
        try:
            path = self.manager.save()
        except (tf.errors.OpError, OSError) as error:
            clean_checkpoint_temporaries(self.directory)
            raise CheckpointError(self._write_failure(error)) from None
        self.saved = (epoch, step_in_epoch)
        self._record_running(path, running if step_in_epoch else None, epoch_trained)
        return path

    def checkpoint_bytes(self) -> int:
        """About the size of one checkpoint: every variable it holds."""
        seen, total = set(), 0
        variables = list(self.model.variables) + list(getattr(self.model.optimizer, "variables", []))
        centre = getattr(self.model, "centre_optimizer", None)
        if centre is not None:
            variables += list(centre.variables)
        if self.ema is not None:
            variables += self.ema.variables()
        for variable in variables:
            if id(variable) not in seen:
                seen.add(id(variable))
                total += int(np.prod(variable.shape)) * tf.as_dtype(variable.dtype).size
        return total

    def _write_failure(self, error) -> str:
        message = getattr(error, "message", None) or getattr(error, "strerror", None) or str(error)
        reason = (message.strip().splitlines() or [type(error).__name__])[0]
        if "space" in reason.lower() or getattr(error, "errno", None) == errno.ENOSPC \
                or isinstance(error, tf.errors.ResourceExhaustedError):
            try:
                free = f"{shutil.disk_usage(self.directory).free / 1e6:.0f} MB free"
            except OSError:
                free = "free space unknown"
            return (f"cannot write a checkpoint in {self.directory}: no space left on the device; a checkpoint "
                    f"needs about {self.checkpoint_bytes() / 1e6:.0f} MB ({free}); free some space, then --resume")
        return f"cannot write a checkpoint in {self.directory}: {reason[:300]}"

    def _record_running(self, path, running, epoch_trained=False):
        """Keep ``running`` for checkpoint ``path`` (and only for checkpoints still on disk); a
        checkpoint after the epoch's last step is recorded as ``{"running": ..., "epoch_trained": true}``."""
        from dsan_tf.io_utils import write_json

        record_path = self.directory / RUNNING_METRICS
        records = self._running_records()
        kept = {f"{CHECKPOINT_PREFIX}-{n}" for n in checkpoint_numbers(self.directory)}
        records = {name: values for name, values in records.items() if name in kept}
        if running is not None:
            values = [np.asarray(value).tolist() for value in running]
            records[Path(path).name] = {"running": values, "epoch_trained": True} if epoch_trained else values
        else:
            records.pop(Path(path).name, None)
        try:
            write_json(records, record_path)
        except OSError as error:  # the checkpoint itself is written; only the history row would be partial
            log.warning("could not record the epoch's running metrics (%s)", error)

    def restore_latest(self):
        """Restore the newest checkpoint that restores; returns (epoch, step_in_epoch) or None when
        there is none.

        The candidates are the ``ckpt-N`` found on disk (the ``checkpoint`` state file may be
        missing), newest first; a damaged one (truncated data, empty index) is named in a warning,
        kept, and the next older one tried. CheckpointError when checkpoints exist but none restores.
        New checkpoints are numbered after the newest on disk, so none of them is written over.
        """
        numbers = checkpoint_numbers(self.directory)
        if not numbers:
            return None
        failures = []
        for number in numbers:
            path = str(self.directory / f"{CHECKPOINT_PREFIX}-{number}")
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            except Exception as error:  # noqa: BLE001 - TF's reader raises anything (IndexError, DataLossError, ...)
                message = getattr(error, "message", None) or str(error)
                reason = (message.strip().splitlines() or [type(error).__name__])[0][:200]
                failures.append(f"{Path(path).name}: {reason}")
                log.warning("checkpoint %s is damaged and was not used (%s); it is kept; trying an older one",
                            path, reason)
                continue
            if failures:
                log.warning("resuming from %s, the newest checkpoint that restores (damaged: %s)", path,
                            ", ".join(f.split(":")[0] for f in failures))
            self.checkpoint.save_counter.assign(max(numbers))
            self.saved = int(self.epoch.numpy()), int(self.step_in_epoch.numpy())
            self.running, self.epoch_trained = self._recorded_running(Path(path).name) if self.saved[1] else (None, False)
            return self.saved
        raise CheckpointError(f"no checkpoint in {self.directory} restores ({'; '.join(failures)}); they are kept: "
                              "move them away to start the run over")

    def _running_records(self) -> dict:
        """The running-metrics record; a damaged one is named in a warning and counts as empty (it only
        completes history rows, it never decides the weights)."""
        from dsan_tf.state_files import read_json_state

        path = self.directory / RUNNING_METRICS
        if not path.is_file():
            return {}
        try:
            return read_json_state(path, dict, what="the running-metrics record of the checkpoints")
        except UserError as error:
            log.warning("%s; the resumed epoch's history row may cover only the steps after the resume", error)
            return {}

    def _recorded_running(self, name):
        """(running metric values or None, whether the checkpoint follows the epoch's last step)."""
        record = self._running_records().get(name)
        if isinstance(record, dict):
            return record.get("running"), bool(record.get("epoch_trained"))
        return (record if isinstance(record, list) else None), False


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training; ``position`` (epoch 0-based, step) is where ``--resume`` continues, None
    when no checkpoint was written yet (``--resume`` then starts over)."""

    def __init__(self, position, saved_now):
        self.position, self.saved_now = position, saved_now
        if position is None:
            what = "stopped before the first checkpoint"
        elif saved_now:
            what = f"checkpoint saved at epoch {position[0] + 1}, step {position[1]}"
        else:
            what = f"stopped at once; the last checkpoint (epoch {position[0] + 1}, step {position[1]}) is kept"
        super().__init__(what)


class TrainingDiverged(UserError, RuntimeError):
    """The training loss became NaN or infinite; nothing after the last checkpoint is saved."""


class InterruptRequest:
    """While active, the first Ctrl-C (SIGINT) only sets ``requested``; a second one raises KeyboardInterrupt.

    Only the main thread can install signal handlers; elsewhere, and when SIGINT is
    ignored (a background job), Ctrl-C keeps its usual behaviour.
    """

    def __init__(self):
        self.requested = False
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _handle(self, _signum, _frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("Ctrl-C: stopping after this step and saving a checkpoint (Ctrl-C again stops at once)")


class StepCheckpoint(keras.callbacks.Callback):
    """Save the training state every ``every`` steps within an epoch (and on a time budget stop).

    Counts finished steps; when Ctrl-C was pressed, saves this step and raises
    :class:`TrainingInterrupted` (before validation, which could take long), except
    on the epoch's last step: that epoch ends normally and is saved as finished.
    """

    def __init__(self, state, epoch, first_step, every, interrupt=None, running=None):
        super().__init__()
        self.state, self.epoch, self.step, self.every = state, epoch, first_step, every
        self.interrupt = interrupt
        self.epoch_finished = False
        self.running = running  # metric variables at the resumed step: the epoch's row covers every step

    def on_epoch_begin(self, epoch, logs=None):
        # fit() has just reset the metrics; a resumed epoch continues the sums of its first steps.
        if self.running is None:
            return
        variables = self.model.metrics_variables
        try:  # all or nothing: every recorded value is converted and shape-checked before any is assigned
            values = [np.asarray(value, variable.dtype) for variable, value in zip(variables, self.running)]
            fits = len(variables) == len(self.running) and all(
                tuple(value.shape) == tuple(variable.shape) for variable, value in zip(variables, values))
        except (ValueError, TypeError):
            fits = False
        if fits:
            for variable, value in zip(variables, values):
                variable.assign(value)
        else:
            log.warning("the resumed epoch's history row covers only the steps after the resume "
                        "(the recorded metrics do not match this model)")
        self.running = None

    def _running(self):
        return [np.asarray(v) for v in self.model.metrics_variables]

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        steps = self.params.get("steps")  # batches in this fit call (None when unknown)
        self.epoch_finished = steps is not None and batch + 1 >= steps
        if self.interrupt is not None and self.interrupt.requested and not self.epoch_finished:
            self.state.save(self.epoch, self.step, self._running())
            raise TrainingInterrupted(self.state.saved, saved_now=True)
        if self.every and self.step % self.every == 0:
            # On the epoch's last step too the running metrics are kept: a kill during the validation that
            # follows leaves this checkpoint, and the resume writes the epoch's row from them.
            self.state.save(self.epoch, self.step, self._running(), epoch_trained=self.epoch_finished)


class RunProgbar(keras.callbacks.ProgbarLogger):
    """Keras' progress line (``--verbose 1/2``) with the run's epoch count: each ``fit`` here is one epoch
    long, so Keras alone would head the run's second epoch of 30 with "Epoch 2/2"."""

    def __init__(self, run_epochs):
        super().__init__()
        self.run_epochs = run_epochs

    def set_params(self, params):
        super().set_params(params)
        self.epochs = self.run_epochs


class StopOnNaN(keras.callbacks.TerminateOnNaN):
    """Keras' NaN check, raising :class:`TrainingDiverged` at once: placed before
    :class:`StepCheckpoint`, it stops a NaN step before it is checkpointed."""

    def __init__(self, epoch):
        super().__init__(raise_error=True)
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        try:
            super().on_batch_end(batch, logs)
        except RuntimeError:
            loss = (logs or {}).get("loss")
            raise TrainingDiverged(
                f"the training loss became {float(loss)} in epoch {self.epoch + 1}: training stopped and "
                "nothing after the last checkpoint was saved; lower --learning-rate (or check the data)"
            ) from None


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
        self.running = None  # the metric variables when the budget ran out (validation resets them)

    def on_train_batch_end(self, batch, logs=None):
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.expired = True
            self.model.stop_training = True
            self.running = [np.asarray(v) for v in self.model.metrics_variables]


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
    ema=None,
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
    chief = is_chief()
    checkpoint_dir = output_dir / "checkpoints" if chief else output_dir / ".worker-checkpoints" / str(id(model))
    clean_checkpoint_temporaries(checkpoint_dir)  # of a write killed (kill -9) or failed (full disk) before
    state = TrainingState(model, checkpoint_dir, ema=ema)
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
    for callback in extra_callbacks:  # each fit below is one epoch long: tell the epoch line the run's total
        if hasattr(callback, "run_epochs"):
            callback.run_epochs = epochs
    with InterruptRequest() as interrupt:
        for epoch in range(start_epoch, epochs):
            skip = start_step if epoch == start_epoch else 0
            running = state.running if resume and epoch == start_epoch and skip else None
            step_checkpoint = StepCheckpoint(state, epoch, skip, checkpoint_every, interrupt, running)
            # StopOnNaN first: a NaN step must stop before StepCheckpoint saves it (or the EMA takes it in);
            # the EMA's update before StepCheckpoint: the step's checkpoint holds the EMA of that step.
            averaging = [UpdateAverage(ema)] if ema is not None else []
            callbacks = [StopOnNaN(epoch), *averaging, step_checkpoint, budget, *extra_callbacks]
            if verbose:
                callbacks.append(RunProgbar(epochs))  # fit and the multi-worker loop use it instead of their own
            if getattr(model, "centre_tracking", None) is not None:
                callbacks.append(CentreDiagnostics())  # before the CSV logger, which writes what it adds
            if chief:
                callbacks += [
                    keras.callbacks.CSVLogger(str(output_dir / "history.csv"), append=True),
                    keras.callbacks.TensorBoard(str(output_dir / "tensorboard"), write_graph=False),
                ]
            try:
                if skip and epoch == start_epoch and _epoch_already_trained(state, train_data, epoch, skip, custom_loop,
                                                                           steps_per_epoch):
                    # Killed after the epoch's last checkpoint, during its validation: validate and write its
                    # row, train nothing (fitting the skipped, empty epoch wrote a row of NaN).
                    _finish_trained_epoch(model, epoch, None if custom_loop else validation_data, callbacks)
                elif custom_loop:
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
            except TrainingInterrupted:
                raise
            except KeyboardInterrupt:  # a second Ctrl-C: the state may be mid-step, so the last checkpoint stands
                raise TrainingInterrupted(state.saved, saved_now=False) from None
            if budget.expired and not step_checkpoint.epoch_finished:
                log.warning("time budget of %.0f s spent during epoch %d: stopping early", time_budget_s, epoch + 1)
                state.save(epoch, step_checkpoint.step, budget.running)
                break
            # A budget spent on the epoch's last step stops here too, saved as a finished epoch (not as
            # "all steps done", which a resume would replay as an empty epoch).
            state.save(epoch + 1, 0)
            if budget.expired:
                log.warning("time budget of %.0f s spent at the end of epoch %d: stopping", time_budget_s, epoch + 1)
                break
            if interrupt.requested:  # Ctrl-C during validation or between epochs: stop at the epoch's end
                raise TrainingInterrupted(state.saved, saved_now=True)
    return {
        "epochs_completed": int(state.epoch.numpy()),
        "stopped_by_time_budget": budget.expired,
        "train_seconds": time.monotonic() - started,
        "resumed_from": {"epoch": start_epoch, "step": start_step} if resume else None,
    }


def _epoch_already_trained(state, train_data, epoch, skip, custom_loop, steps_per_epoch) -> bool:
    """Whether the resumed checkpoint follows epoch ``epoch``'s last step: as recorded beside it, or (a
    run from before the record) when ``skip`` reaches the epoch's known number of batches."""
    if state.epoch_trained:
        return True
    if custom_loop:
        return bool(steps_per_epoch) and skip >= steps_per_epoch
    batches = int(train_data(epoch).cardinality())
    return batches >= 0 and skip >= batches


def _finish_trained_epoch(model, epoch, validation_data, callbacks):
    """What ``fit`` does after an epoch's last step, and only that: the epoch's training metrics (restored
    by StepCheckpoint.on_epoch_begin from the record), validation, and ``on_epoch_end`` for the logs."""
    callback_list = keras.callbacks.CallbackList(list(callbacks), model=model, add_history=False, add_progbar=False)
    callback_list.on_train_begin()
    model.reset_metrics()
    callback_list.on_epoch_begin(epoch)
    logs = dict(model.get_metrics_result())
    if validation_data is not None:
        validation = model.evaluate(validation_data, verbose=0, return_dict=True, callbacks=callback_list)
        logs.update({f"val_{name}": value for name, value in validation.items()})
    callback_list.on_epoch_end(epoch, logs)
    callback_list.on_train_end()



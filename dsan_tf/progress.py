"""Compact training output: one line per epoch (loss, accuracy, validation accuracy, time).

Everything else Keras reports per epoch (stream accuracies, loss terms, centre
diagnostics) goes to history.csv and TensorBoard. While an epoch runs, a progress bar
over its steps is shown on a terminal (never in a log file or pipe) and cleared at the
epoch's end.
"""

from __future__ import annotations

import sys
import time

import keras


class EpochLine(keras.callbacks.Callback):
    """Prints ``epoch 3/8: loss 1.2345, accuracy 45.67%, val accuracy 50.12%, 123 s`` at each epoch's end."""

    def __init__(self, stream=None, progress_bar=None):
        super().__init__()
        self.stream = stream
        self.progress_bar = progress_bar  # None: only when the stream is a terminal
        self._bar = None
        self._start = None
        # The run's epoch count: the fit loop (training.fit_resumable) runs Keras' fit one epoch at a
        # time, so the fit's own params["epochs"] is that epoch's number, not the run's total.
        self.run_epochs = None

    def _out(self):
        return self.stream or sys.stdout

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.monotonic()
        steps = (self.params or {}).get("steps")
        show = self.progress_bar if self.progress_bar is not None else _is_terminal(sys.stderr)
        if show:
            from tqdm import tqdm

            self._bar = tqdm(total=steps, desc=f"epoch {epoch + 1}", unit="step", leave=False, file=sys.stderr)

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        print(epoch_line(epoch, self.run_epochs or (self.params or {}).get("epochs"), logs or {},
                         time.monotonic() - (self._start or time.monotonic())), file=self._out(), flush=True)


def epoch_line(epoch, epochs, logs, seconds) -> str:
    """The compact line of one finished epoch (``epoch`` counts from 0)."""
    parts = []
    if "loss" in logs:
        parts.append(f"loss {float(logs['loss']):.4f}")
    if "accuracy" in logs:
        parts.append(f"accuracy {float(logs['accuracy']):.2%}")
    if "val_accuracy" in logs:
        parts.append(f"val accuracy {float(logs['val_accuracy']):.2%}")
    parts.append(f"{seconds:.0f} s")
    of = f"/{epochs}" if epochs else ""
    return f"epoch {epoch + 1}{of}: " + ", ".join(parts)


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def fit_verbosity(verbose: int):
    """(Keras ``verbose``, extra callbacks) for the command line's ``--verbose``: 0 silent, 1 one compact
    line per epoch, 2 Keras' own line per epoch."""
    if verbose == 1:
        return 0, [EpochLine()]
    return verbose, []

"""Fitting a Keras model with a progress bar, early stopping and a reproducible seed.

:func:`fit` draws one ``tqdm.auto`` bar over epochs (a widget in Jupyter, text elsewhere)
with the latest loss and accuracy as its postfix. It watches the validation loss, stops after
``patience`` epochs without improvement and puts the best epoch's weights back, so the model
you hold afterwards is the one the figures describe.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TextIO

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from tinybench.errors import ConfigError
from tinybench.native_logs import quiet_native_logs
from tinybench.tf_runtime import load_keras, load_tensorflow

__all__ = ["Evaluation", "TrainResult", "evaluate", "fit", "seed_everything"]

log = logging.getLogger(__name__)


class Examples(Protocol):
    """Anything with inputs ``x`` and integer labels ``y``, such as ``dataset.Windows``."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What a training run did.

    Attributes:
        history: One row per epoch (index ``epoch``, from 1) with ``loss`` and, when the model
            reports them, ``accuracy``, ``val_loss`` and ``val_accuracy``.
        best_epoch: The epoch whose weights the model holds after :func:`fit`.
        val_loss: Validation loss at ``best_epoch`` (train loss when there was no validation).
        val_accuracy: Validation accuracy at ``best_epoch``, or None for models without an
            accuracy metric or runs without validation data.
        epochs_run: Epochs actually run.
        stopped_early: Whether early stopping ended the run before ``epochs``.
        wall_time_s: Wall-clock seconds spent in training.
        seed: The seed the run used.
    """

    history: pd.DataFrame
    best_epoch: int
    val_loss: float
    val_accuracy: float | None
    epochs_run: int
    stopped_early: bool
    wall_time_s: float
    seed: int


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow; optionally make TensorFlow ops deterministic.

    ``enable_op_determinism`` is process-wide and costs little on CPU. It cannot be undone,
    which is why :func:`fit` lets you turn it off.
    """
    keras = load_keras()
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        load_tensorflow().config.experimental.enable_op_determinism()


def fit(
    model: Any,
    train: Examples,
    val: Examples | None = None,
    *,
    epochs: int = 30,
    batch_size: int = 32,
    patience: int | None = 5,
    seed: int = 0,
    progress: bool = True,
    target: Literal["labels", "inputs"] = "labels",
    callbacks: Sequence[Any] = (),
    deterministic: bool = True,
) -> TrainResult:
    """Train a compiled ``tf_keras`` model in place.

    Args:
        model: A compiled ``tf_keras`` model, for example from :mod:`tinybench.train.models`.
        train: Training examples (``.x``, ``.y``).
        val: Validation examples; early stopping watches their loss. Without them it watches
            the training loss.
        epochs: Maximum number of epochs.
        batch_size: Examples per gradient step.
        patience: Epochs without improvement before stopping; None trains every epoch and
            keeps the last weights (needed while pruning, whose masks must not be rolled back).
        seed: Seeds Python, NumPy, TensorFlow and the shuffling order.
        progress: Show a ``tqdm.auto`` bar over epochs.
        target: ``"labels"`` fits ``x → y``; ``"inputs"`` fits ``x → x`` (autoencoders).
        callbacks: Extra Keras callbacks, such as tfmot's ``UpdatePruningStep``.
        deterministic: Also enable TensorFlow's op determinism (process-wide) so two runs with
            the same seed give identical weights.

    Returns:
        A :class:`TrainResult`; the model itself now holds the best epoch's weights.

    Raises:
        ConfigError: The model is not compiled, or an argument is out of range.
    """
    keras = load_keras()
    _check_fit_arguments(model, train, epochs, batch_size, patience, target)
    seed_everything(seed, deterministic)
    has_val = val is not None and len(val.x) > 0
    validation = (val.x, _targets(val, target)) if has_val and val is not None else None
    monitored = "val_loss" if has_val else "loss"
    start = time.perf_counter()
    # tf.data logs native errors such as "use_unbounded_threadpool" on fd 2 when training
    # starts; they go to the log, and the bar draws on the real stderr.
    with quiet_native_logs() as terminal:
        bar = _epoch_bar(epochs, getattr(model, "name", ""), progress, terminal)
        watch = _make_watch(keras, patience, monitored, bar)
        try:
            model.fit(
                train.x,
                _targets(train, target),
                validation_data=validation,
                epochs=epochs,
                batch_size=batch_size,
                shuffle=True,
                verbose=0,
                callbacks=[*callbacks, watch],
            )
        finally:
            watch.bar.close()
    result = _result(watch, monitored, has_val, epochs, time.perf_counter() - start, seed)
    log.info(
        "fit %s: %d epochs in %.1f s, best epoch %d (%s %.4f)",
        getattr(model, "name", "model"),
        result.epochs_run,
        result.wall_time_s,
        result.best_epoch,
        monitored,
        result.val_loss,
    )
    return result


def _check_fit_arguments(
    model: Any, train: Examples, epochs: int, batch_size: int, patience: int | None, target: str
) -> None:
    """Refuse an uncompiled model, empty data and out-of-range settings, naming the value."""
    if getattr(model, "optimizer", None) is None:
        raise ConfigError(
            f"model {getattr(model, 'name', model)!r} is not compiled; call model.compile(...) "
            "or build it with a tinybench.train.models builder."
        )
    if epochs < 1 or batch_size < 1 or (patience is not None and patience < 0):
        raise ConfigError(
            f"epochs={epochs}, batch_size={batch_size}, patience={patience}: epochs and "
            "batch_size must be at least 1 and patience at least 0 (or None)."
        )
    if target not in ("labels", "inputs"):
        raise ConfigError(f"target must be 'labels' or 'inputs', got {target!r}.")
    if len(train.x) == 0:
        raise ConfigError("no training examples; check the dataset split and window.")


def _result(
    watch: Any, monitored: str, has_val: bool, epochs: int, wall: float, seed: int
) -> TrainResult:
    """Build the :class:`TrainResult` from the epoch watcher's history."""
    history = pd.DataFrame(watch.rows).set_index("epoch")
    best = history.loc[watch.best_epoch]
    accuracy = best.get("val_accuracy") if has_val else None
    return TrainResult(
        history=history,
        best_epoch=watch.best_epoch,
        val_loss=float(best[monitored]),
        val_accuracy=None if accuracy is None or pd.isna(accuracy) else float(accuracy),
        epochs_run=len(history),
        stopped_early=len(history) < epochs,
        wall_time_s=wall,
        seed=seed,
    )


def _targets(examples: Examples, target: str) -> np.ndarray:
    return examples.x if target == "inputs" else examples.y


def _epoch_bar(epochs: int, name: str, progress: bool, stream: TextIO) -> Any:
    """The ``tqdm.auto`` bar over epochs: a widget in Jupyter, text on ``stream`` elsewhere."""
    return tqdm(
        total=epochs,
        desc=name or "fit",
        unit="epoch",
        disable=not progress,
        leave=True,
        file=stream,
    )


def _make_watch(keras: Any, patience: int | None, monitor: str, bar: Any) -> Any:
    """Build the callback that records history, drives the bar and stops early."""

    class EpochWatch(keras.callbacks.Callback):
        """Per-epoch bookkeeping: history rows, tqdm bar, early stopping, best weights."""

        def __init__(self) -> None:
            super().__init__()
            self.bar = bar
            self.rows: list[dict[str, float]] = []
            self.best = math.inf
            self.best_epoch = 0
            self.best_weights: list[np.ndarray] | None = None
            self.wait = 0

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            logs = {k: float(v) for k, v in (logs or {}).items()}
            self.rows.append({"epoch": epoch + 1, **logs})
            self.bar.set_postfix(
                {k: f"{v:.3f}" for k, v in logs.items() if "loss" in k or "acc" in k},
                refresh=False,
            )
            self.bar.update(1)
            value = logs.get(monitor, math.inf)
            if patience is None:
                self.best_epoch = epoch + 1
                return
            if value < self.best:
                self.best, self.best_epoch, self.wait = value, epoch + 1, 0
                self.best_weights = self.model.get_weights()
                return
            self.wait += 1
            if self.wait >= patience:
                self.model.stop_training = True

        def on_train_end(self, logs: dict[str, float] | None = None) -> None:
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)
            finish_bar(self.bar, len(self.rows), self.best_epoch)

    return EpochWatch()


def finish_bar(bar: Any, epochs_run: int, best_epoch: int) -> None:
    """End the epoch bar as a success, also when early stopping ended training before ``total``.

    A tqdm bar closed short of its total is drawn red (as if it failed) in Jupyter, so a bar
    that stopped early is shortened to the epochs that ran and says why it stopped.
    """
    if bar.disable:  # a disabled tqdm (progress=False) has no desc and draws nothing
        return
    if bar.disable:  # a disabled bar (progress=False) has no description to set
        return
    if epochs_run < (bar.total or 0):
        bar.total = epochs_run
        bar.set_description_str(
            f"{bar.desc}: stopped early at epoch {epochs_run} (best {best_epoch})", refresh=False
        )
    bar.refresh()


@dataclass(frozen=True, eq=False)
class Evaluation:
    """How a Keras classifier does on a set of examples.

    Attributes:
        accuracy: Fraction of examples whose top class is the true one.
        y_true: True class indices.
        y_pred: Predicted class indices (the top score of each example).
    """

    accuracy: float
    y_true: np.ndarray
    y_pred: np.ndarray

    def __repr__(self) -> str:
        return f"Evaluation(accuracy={self.accuracy:.4f} on {len(self.y_true)} examples)"


def evaluate(model: Any, examples: Examples, *, batch_size: int = 256) -> Evaluation:
    """Return the float (Keras) model's accuracy and predictions on ``examples``.

    This is the host-side float figure; the accuracy of a converted model on a board is
    measured in TFLM by :func:`tinybench.measure.profile.profile`.

    Raises:
        ConfigError: There are no examples, or inputs and labels differ in number.
    """
    x, y = np.asarray(examples.x), np.asarray(examples.y)
    if len(x) == 0 or len(x) != len(y):
        raise ConfigError(
            f"Cannot evaluate on {len(x)} inputs and {len(y)} labels; pass a non-empty "
            "Windows object such as prepare(...).test."
        )
    y_pred = np.asarray(model.predict(x, batch_size=batch_size, verbose=0)).argmax(axis=1)
    return Evaluation(float(np.mean(y_pred == y)), y, y_pred)

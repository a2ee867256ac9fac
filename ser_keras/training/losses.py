"""Losses by name, and class weights, from ``training.loss``.

    loss = build_loss(training.loss, regression=False)
    weights = class_weights(training.loss, counts=[120, 80, 40, 60])   # or None

Losses (``LOSSES``): ``cross_entropy`` (sparse categorical, on softmax outputs), ``mse``
(mean squared error over the targets), ``mae`` (alias ``l1``: mean absolute error),
``ccc`` (1 - the concordance correlation coefficient
averaged over the targets, computed on each batch), and ``sum``: the weighted sum of
``terms`` (``[{name: ccc, weight: 1.0}, {name: mse, weight: 0.5}]``), the multi-task loss.

Class weights (``loss.class_weights``, classification only) become per-sample weights of the
training batches:
- ``inverse_frequency``: w_c = N / (K n_c), so every class carries the same total weight;
- ``smallest``: w_c = n_min / n_c, relative to the smallest class (which gets 1).
Both are computed from the training fold's own class counts.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import keras
from keras import ops

from ser_keras.config import LossConfig
from ser_keras.errors import ConfigError
from ser_keras.registry import Registry


@dataclasses.dataclass(frozen=True)
class LossEntry:
    name: str
    kind: str                            # "classification" | "regression" | "any"
    build: Callable[[], object]
    description: str


def concordance_cc(y_true, y_pred, axis=0):
    """Lin's CCC per column (keras.ops): 2 cov / (var_t + var_p + (mean_t - mean_p)^2)."""
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    mean_t, mean_p = ops.mean(y_true, axis=axis), ops.mean(y_pred, axis=axis)
    var_t, var_p = ops.var(y_true, axis=axis), ops.var(y_pred, axis=axis)
    cov = ops.mean((y_true - mean_t) * (y_pred - mean_p), axis=axis)
    return 2.0 * cov / (var_t + var_p + ops.square(mean_t - mean_p) + keras.backend.epsilon())


@keras.saving.register_keras_serializable(package="ser_keras")
class CCCLoss(keras.losses.Loss):
    """1 - mean over targets of the batch CCC; returned per sample (the same value), so the
    usual mean reduction gives it back and per-sample weights scale it."""

    def __init__(self, name="ccc", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.reshape(ops.cast(y_true, "float32"), ops.shape(y_pred))
        value = 1.0 - ops.mean(concordance_cc(y_true, y_pred))
        return ops.ones_like(y_pred[:, 0]) * value


@keras.saving.register_keras_serializable(package="ser_keras")
class WeightedSum(keras.losses.Loss):
    """sum_i weight_i * loss_i (each a registered loss name)."""

    def __init__(self, terms: Sequence[dict], name="sum", **kwargs):
        super().__init__(name=name, **kwargs)
        self.terms = [dict(t) for t in terms]
        self._losses = [(float(t["weight"]), LOSSES.get(t["name"]).build()) for t in self.terms]

    def call(self, y_true, y_pred):
        total = None
        for weight, loss in self._losses:
            value = weight * loss(y_true, y_pred)
            total = value if total is None else total + value
        return ops.ones_like(y_pred[:, 0]) * total

    def get_config(self):
        return {**super().get_config(), "terms": self.terms}


LOSSES: Registry[LossEntry] = Registry("loss")
LOSSES.add("cross_entropy", LossEntry(
    "cross_entropy", "classification", lambda: keras.losses.SparseCategoricalCrossentropy(),
    "sparse categorical cross-entropy on softmax probabilities"), aliases=("ce",))
LOSSES.add("mse", LossEntry("mse", "regression", lambda: keras.losses.MeanSquaredError(),
                            "mean squared error over the targets"))
LOSSES.add("mae", LossEntry("mae", "regression", lambda: keras.losses.MeanAbsoluteError(),
                            "mean absolute error (L1) over the targets"), aliases=("l1",))
LOSSES.add("ccc", LossEntry("ccc", "regression", CCCLoss,
                            "1 - concordance correlation coefficient, mean over targets"))
LOSSES.add("sum", LossEntry("sum", "any", lambda: None, "weighted sum of terms"))

CLASS_WEIGHTS = ("inverse_frequency", "smallest")


def check_loss(config: LossConfig, regression: bool, where: str = "training.loss") -> None:
    """Names exist, fit the targets (classes or values) and the options fit the loss."""
    kind = "regression" if regression else "classification"
    entry = LOSSES.get(config.name)
    names = [t.name for t in config.terms] if entry.name == "sum" else [entry.name]
    if entry.name == "sum" and not config.terms:
        raise ConfigError(f"{where}: 'sum' needs terms, e.g. [{{name: ccc, weight: 1}}]")
    if entry.name != "sum" and config.terms:
        raise ConfigError(f"{where}.terms: only the 'sum' loss takes terms")
    for name in names:
        term = LOSSES.get(name)
        if term.name == "sum":
            raise ConfigError(f"{where}.terms: a sum cannot contain a sum")
        if term.kind != kind:
            raise ConfigError(f"{where}: {term.name} is a {term.kind} loss; these targets "
                              f"need a {kind} loss")
    if config.class_weights is not None:
        if regression:
            raise ConfigError(f"{where}.class_weights: only for class targets")
        if config.class_weights not in CLASS_WEIGHTS:
            raise ConfigError(f"{where}.class_weights: {config.class_weights!r}; known: "
                              f"{', '.join(CLASS_WEIGHTS)} (or null)")


def build_loss(config: LossConfig, regression: bool):
    check_loss(config, regression)
    entry = LOSSES.get(config.name)
    if entry.name == "sum":
        return WeightedSum([{"name": t.name, "weight": t.weight} for t in config.terms])
    return entry.build()


def class_weights(config: LossConfig, counts: Sequence[int]) -> list[float] | None:
    """Per-class weights from the training fold's class counts, or None (unweighted).

    A class absent from the training fold gets weight 0 (no sample carries it anyway)."""
    if config.class_weights is None:
        return None
    present = [n for n in counts if n > 0]
    total, k, smallest = sum(present), len(present), min(present)
    if config.class_weights == "inverse_frequency":
        return [total / (k * n) if n else 0.0 for n in counts]
    return [smallest / n if n else 0.0 for n in counts]


__all__ = ["CCCLoss", "CLASS_WEIGHTS", "LOSSES", "WeightedSum", "build_loss", "check_loss",
           "class_weights", "concordance_cc"]

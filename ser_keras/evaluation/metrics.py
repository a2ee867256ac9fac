"""The metric registry: named classification and regression metrics, and the run reports.

``METRICS`` is a :class:`~ser_keras.registry.Registry` of :class:`Metric` entries, filled by
the explicit ``add`` calls at the end of this module. A metric is one of two kinds:

- ``"classification"``: ``fn(y_true, y_prob)`` with integer labels ``y_true`` of shape
  ``(n,)`` in ``range(k)`` and class probabilities ``y_prob`` of shape ``(n, k)``; the
  predicted class is the argmax of a row. Precision, recall and F scores use
  ``labels=range(k)`` and ``zero_division=0``, so a class never predicted (or absent from
  ``y_true``) counts as 0 rather than raising or warning.
- ``"regression"``: ``fn(y_true, y_pred)`` with arrays of shape ``(n, t)`` (a 1-D array is one
  target); the value is the mean over the ``t`` targets of the per-target value.

A metric's value is a plain Python float, or ``None`` where it is undefined (a one-vs-rest
ROC-AUC of a class absent from ``y_true``, a Pearson r of a constant column, an empty input).
Everything is computed with scikit-learn and scipy, except Lin's concordance correlation
coefficient (:func:`ccc`), which neither provides.

    get_metric("uar").name                      # "balanced_accuracy"
    compute("f1_macro", y_true, y_prob)         # a float
    metric_names("regression")                  # ["ccc", "mae", "mse", "pearson_r"]
    classification_report(y_true, y_prob, classes)   # the JSON-ready report of a run
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
from scipy import stats
from sklearn import metrics as skm

from ser_keras.errors import ConfigError
from ser_keras.registry import Registry

FBETA = 0.5  # beta of ``fbeta_weighted``: below 1, precision weighs more than recall
LOG_LOSS_EPS = 1e-7  # probabilities are clipped to [LOG_LOSS_EPS, 1] before the log loss
THRESHOLD = 0.5  # of the *_thresholded metrics: Keras' Precision() / Recall() default
KINDS = ("classification", "regression")


@dataclass(frozen=True)
class Metric:
    """One registered metric: its canonical name, kind, direction, function and meaning."""

    name: str
    kind: str  # "classification" or "regression"
    greater_is_better: bool
    fn: Callable[[np.ndarray, np.ndarray], Optional[float]]
    description: str

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"metric {self.name!r}: kind must be one of {KINDS}, "
                             f"not {self.kind!r}")


# --- inputs ----------------------------------------------------------------------------------

def _classification_inputs(y_true, y_prob) -> tuple[np.ndarray, np.ndarray, int]:
    y_true = np.asarray(y_true)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim != 2:
        raise ValueError(f"y_prob must have shape (n, k), not {y_prob.shape}")
    if y_true.ndim != 1 or len(y_true) != len(y_prob):
        raise ValueError(f"y_true must have shape ({len(y_prob)},), not {y_true.shape}")
    k = y_prob.shape[1]
    if y_true.size and not np.issubdtype(y_true.dtype, np.integer):
        if not np.all(np.equal(np.mod(y_true, 1), 0)):
            raise ValueError("y_true must hold integer class indices")
    y_true = y_true.astype(int)
    if y_true.size and (y_true.min() < 0 or y_true.max() >= k):
        raise ValueError(f"y_true holds class indices outside range({k})")
    return y_true, y_prob, k


def _regression_inputs(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    if y_true.ndim != 2 or y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape (n, t), not "
                         f"{y_true.shape} and {y_pred.shape}")
    return y_true, y_pred


def _value(x) -> Optional[float]:
    """A plain float, or None for a NaN/None (an undefined value)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _mean_defined(values: Sequence[Optional[float]]) -> Optional[float]:
    """The mean of the values that are defined; None when none is."""
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None


# --- classification --------------------------------------------------------------------------

def _classification(score: Callable[[np.ndarray, np.ndarray, np.ndarray, int], float]):
    """A registry function (y_true, y_prob) -> float | None around score(y, pred, prob, k)."""

    def fn(y_true, y_prob) -> Optional[float]:
        y_true, y_prob, k = _classification_inputs(y_true, y_prob)
        if len(y_true) == 0:
            return None
        return _value(score(y_true, y_prob.argmax(axis=1), y_prob, k))

    return fn


def _prf(score, average: str, **kwargs):
    return _classification(lambda y, pred, _prob, k: score(
        y, pred, labels=list(range(k)), average=average, zero_division=0, **kwargs))


def _balanced_accuracy(y, pred, _prob, _k) -> float:
    # A class of the label space absent from y_true has no recall; sklearn then warns and
    # averages the recalls of the classes present, which is what balanced accuracy means.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return skm.balanced_accuracy_score(y, pred)


def roc_auc_per_class(y_true, y_prob) -> list[Optional[float]]:
    """One-vs-rest ROC-AUC of each class; None for a class absent from y_true or the only one."""
    y_true, y_prob, k = _classification_inputs(y_true, y_prob)
    aucs: list[Optional[float]] = []
    for i in range(k):
        positives = y_true == i
        aucs.append(_value(skm.roc_auc_score(positives, y_prob[:, i]))
                    if 0 < positives.sum() < len(y_true) else None)
    return aucs


def _roc_auc_macro(y_true, y_prob) -> Optional[float]:
    return _mean_defined(roc_auc_per_class(y_true, y_prob))


def _thresholded(score):
    """``score`` (sklearn, average="micro") on the one-hot truth vs. probabilities > 0.5: what
    Keras' ``Precision()`` / ``Recall()`` metrics report on a softmax output (their default
    threshold 0.5, counted over every class entry)."""
    def fn(y, _pred, prob, k) -> float:
        truth = np.eye(k, dtype=int)[y]
        chosen = (prob > THRESHOLD).astype(int)
        return score(truth, chosen, average="micro", zero_division=0)
    return fn


def _log_loss(y, _pred, prob, k) -> float:
    prob = np.clip(prob, LOG_LOSS_EPS, 1.0)
    with warnings.catch_warnings():
        # Clipping (or float32 softmax rounding) leaves rows summing to 1 only approximately.
        warnings.filterwarnings("ignore", message=".*do not sum to one.*")
        return skm.log_loss(y, prob, labels=list(range(k)))


# --- regression ------------------------------------------------------------------------------

def ccc(x, y) -> Optional[float]:
    """Lin's concordance correlation coefficient of two 1-D vectors (population moments).

    ``2 cov(x, y) / (var x + var y + (mean x - mean y)^2)`` with ``ddof=0``: 1 for identical
    vectors, 0 for uncorrelated ones, negative for anti-correlated ones; it penalises a shift
    or a change of scale that Pearson's r ignores. None when undefined (empty input, or two
    equal constant vectors, where the denominator is 0).
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"ccc of vectors of different lengths: {x.size} and {y.size}")
    if x.size == 0:
        return None
    mx, my = x.mean(), y.mean()
    cov = np.mean((x - mx) * (y - my))
    denominator = x.var() + y.var() + (mx - my) ** 2
    return _value(2.0 * cov / denominator) if denominator > 0 else None


def _pearson_r(x, y) -> Optional[float]:
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return None  # undefined for fewer than 2 points or a constant column
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _value(stats.pearsonr(x, y)[0])


def _per_target(score: Callable[[np.ndarray, np.ndarray], Optional[float]]):
    """(y_true (n, t), y_pred (n, t)) -> list of the t per-target values."""

    def per_target(y_true, y_pred) -> list[Optional[float]]:
        y_true, y_pred = _regression_inputs(y_true, y_pred)
        if len(y_true) == 0:
            return [None] * y_true.shape[1]
        return [_value(score(y_true[:, j], y_pred[:, j])) for j in range(y_true.shape[1])]

    return per_target


_REGRESSION_PER_TARGET = {
    "mse": _per_target(skm.mean_squared_error),
    "mae": _per_target(skm.mean_absolute_error),
    "ccc": _per_target(ccc),
    "pearson_r": _per_target(_pearson_r),
}


def _regression(name: str):
    """The registry function: mean over the targets where the per-target value is defined."""
    per_target = _REGRESSION_PER_TARGET[name]
    return lambda y_true, y_pred: _mean_defined(per_target(y_true, y_pred))


# --- the registry ----------------------------------------------------------------------------

METRICS: Registry[Metric] = Registry("metric")


def _add(name, kind, greater_is_better, fn, description, aliases=()):
    METRICS.add(name, Metric(name, kind, greater_is_better, fn, description), aliases=aliases)


_C, _R = "classification", "regression"
_add("accuracy", _C, True,
     _classification(lambda y, pred, _p, _k: skm.accuracy_score(y, pred)),
     "fraction of samples whose argmax class is the true one (weighted accuracy)",
     aliases=("wa", "acc"))
_add("balanced_accuracy", _C, True, _classification(_balanced_accuracy),
     "mean recall over the classes present in y_true (unweighted accuracy, UAR)",
     aliases=("ua", "uar", "acc_b"))
_add("precision_weighted", _C, True, _prf(skm.precision_score, "weighted"),
     "precision per class, averaged with the classes' supports as weights")
_add("recall_weighted", _C, True, _prf(skm.recall_score, "weighted"),
     "recall per class, averaged with the classes' supports as weights (equals accuracy)")
_add("f1_weighted", _C, True, _prf(skm.f1_score, "weighted"),
     "F1 per class, averaged with the classes' supports as weights")
_add("fbeta_weighted", _C, True, _prf(skm.fbeta_score, "weighted", beta=FBETA),
     f"F-beta (beta = {FBETA}, weighing precision more than recall) per class, averaged "
     f"with the classes' supports as weights")
_add("precision_macro", _C, True, _prf(skm.precision_score, "macro"),
     "unweighted mean of the per-class precisions over all k classes")
_add("recall_macro", _C, True, _prf(skm.recall_score, "macro"),
     "unweighted mean of the per-class recalls over all k classes (a class absent from "
     "y_true counts as 0)")
_add("f1_macro", _C, True, _prf(skm.f1_score, "macro"),
     "unweighted mean of the per-class F1 scores over all k classes")
_add("precision_thresholded", _C, True, _classification(_thresholded(skm.precision_score)),
     f"Keras' Precision() on softmax outputs: over all class entries, predicted = probability "
     f"> {THRESHOLD}; TP / (TP + FP) (kakuba2023's P, whose F1 is 2PR / (P + R))",
     aliases=("keras_precision",))
_add("recall_thresholded", _C, True, _classification(_thresholded(skm.recall_score)),
     f"Keras' Recall() on softmax outputs: fraction of samples whose true class has "
     f"probability > {THRESHOLD}", aliases=("keras_recall",))
_add("f1_thresholded", _C, True, _classification(_thresholded(skm.f1_score)),
     "harmonic mean of precision_thresholded and recall_thresholded", aliases=("keras_f1",))
_add("roc_auc_macro", _C, True, _roc_auc_macro,
     "mean one-vs-rest ROC-AUC over the classes where it is defined (present in y_true and "
     "not the only class); None when no class has one")
_add("log_loss", _C, False, _classification(_log_loss),
     f"mean cross-entropy of the true class, probabilities clipped to [{LOG_LOSS_EPS}, 1]")
_add("mse", _R, False, _regression("mse"), "mean squared error, averaged over targets")
_add("mae", _R, False, _regression("mae"), "mean absolute error, averaged over targets")
_add("ccc", _R, True, _regression("ccc"),
     "Lin's concordance correlation coefficient (population moments), averaged over targets")
_add("pearson_r", _R, True, _regression("pearson_r"),
     "Pearson correlation coefficient, averaged over the targets where it is defined (not "
     "for a constant column)")


def get_metric(name: str) -> Metric:
    """The metric registered under ``name`` or an alias of it; unknown -> ConfigError."""
    return METRICS.get(name)


def compute(name: str, y_true, y_score) -> Optional[float]:
    """The value of metric ``name``: y_score is y_prob (n, k) or y_pred (n, t) by its kind."""
    return get_metric(name).fn(y_true, y_score)


def metric_names(kind: Optional[str] = None) -> list[str]:
    """The canonical metric names (sorted), all or those of one kind."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"unknown metric kind {kind!r}; known kinds: {', '.join(KINDS)}")
    return [name for name, metric in METRICS.items() if kind is None or metric.kind == kind]


# --- reports ---------------------------------------------------------------------------------

def classification_report(y_true, y_prob, classes: Sequence[str]) -> dict:
    """Every classification metric, per-class scores and the confusion matrix, JSON-ready."""
    y_true, y_prob, k = _classification_inputs(y_true, y_prob)
    classes = [str(c) for c in classes]
    if len(classes) != k:
        raise ValueError(f"{len(classes)} class names for {k} probability columns")
    labels = list(range(k))
    y_pred = y_prob.argmax(axis=1)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0)
    aucs = roc_auc_per_class(y_true, y_prob)
    return {
        "kind": "classification",
        "classes": classes,
        "n_test": int(len(y_true)),
        "metrics": {name: compute(name, y_true, y_prob) for name in metric_names(_C)},
        "per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]),
                             "f1": float(f1[i]), "support": int(support[i]),
                             "roc_auc": aucs[i]}
                      for i, name in enumerate(classes)},
        "confusion_matrix": [[int(v) for v in row] for row in
                             skm.confusion_matrix(y_true, y_pred, labels=labels)],
    }


def regression_report(y_true, y_pred, targets: Sequence[str]) -> dict:
    """Every regression metric, averaged over targets and per target, JSON-ready."""
    y_true, y_pred = _regression_inputs(y_true, y_pred)
    targets = [str(t) for t in targets]
    if len(targets) != y_true.shape[1]:
        raise ValueError(f"{len(targets)} target names for {y_true.shape[1]} columns")
    per_target = {name: score(y_true, y_pred) for name, score in
                  _REGRESSION_PER_TARGET.items()}
    return {
        "kind": "regression",
        "targets": targets,
        "n_test": int(len(y_true)),
        "metrics": {name: compute(name, y_true, y_pred) for name in metric_names(_R)},
        "per_target": {target: {name: per_target[name][j] for name in _REGRESSION_PER_TARGET}
                       for j, target in enumerate(targets)},
    }


__all__ = ["FBETA", "KINDS", "LOG_LOSS_EPS", "METRICS", "Metric", "ccc",
           "classification_report", "compute", "get_metric", "metric_names",
           "regression_report", "roc_auc_per_class"]

"""Two-sided t-tests of run scores, computed with scipy, as JSON-ready dicts.

- :func:`ttest_ind`: are the means of two independent samples (e.g. per-fold scores of two
  systems) equal? Student's equal-variance test by default, Welch's with ``equal_var=False``.
- :func:`ttest_1samp`: is the mean of one sample (e.g. paired differences or residuals) equal
  to ``popmean``?

A test that is undefined (too few values, zero variance, a NaN in the input) gives ``None``
for ``t`` and ``p`` rather than NaN or an infinite ``t``, so the result stays valid JSON.
"""
from __future__ import annotations

import math
import warnings
from typing import Optional

import numpy as np
from scipy import stats


def _sample(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).ravel()


def _mean(x: np.ndarray) -> Optional[float]:
    return float(x.mean()) if x.size else None


def _result(test) -> tuple[Optional[float], Optional[float]]:
    """(t, p) of a scipy result; both None when t is not finite or p is NaN (undefined)."""
    t, p = float(test.statistic), float(test.pvalue)
    if not math.isfinite(t) or math.isnan(p):
        return None, None
    return t, p


def ttest_ind(a, b, equal_var: bool = True) -> dict:
    """Two-sided independent-samples t-test of mean(a) == mean(b).

    Returns ``{"t", "p", "n_a", "n_b", "mean_a", "mean_b"}``; ``t`` is positive when a's mean
    is the larger.
    """
    a, b = _sample(a), _sample(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample / precision-loss warnings: NaN -> None
        t, p = _result(stats.ttest_ind(a, b, equal_var=equal_var, alternative="two-sided"))
    return {"t": t, "p": p, "n_a": int(a.size), "n_b": int(b.size),
            "mean_a": _mean(a), "mean_b": _mean(b)}


def ttest_1samp(residuals, popmean: float = 0.0) -> dict:
    """Two-sided one-sample t-test of mean(residuals) == popmean.

    Returns ``{"t", "p", "n", "mean"}``.
    """
    x = _sample(residuals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, p = _result(stats.ttest_1samp(x, popmean, alternative="two-sided"))
    return {"t": t, "p": p, "n": int(x.size), "mean": _mean(x)}


__all__ = ["ttest_1samp", "ttest_ind"]

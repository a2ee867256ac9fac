"""Evaluation: scoring a run's test predictions and comparing runs.

``METRICS`` is the registry of named metrics (classification ones on class probabilities,
regression ones on continuous predictions), looked up by name or alias with
:func:`get_metric` and applied with :func:`compute`; :func:`classification_report` and
:func:`regression_report` give the JSON-ready report of one run; :func:`ttest_ind` and
:func:`ttest_1samp` are two-sided t-tests of run scores. Computed with scikit-learn and scipy
(Lin's concordance correlation coefficient, :func:`ccc`, with numpy).
"""
from ser_keras.evaluation.metrics import (FBETA, METRICS, Metric, ccc, classification_report,
                                          compute, get_metric, metric_names, regression_report)
from ser_keras.evaluation.significance import ttest_1samp, ttest_ind

__all__ = ["FBETA", "METRICS", "Metric", "ccc", "classification_report", "compute",
           "get_metric", "metric_names", "regression_report", "ttest_1samp", "ttest_ind"]

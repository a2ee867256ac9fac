"""Evaluation: metrics of a run's test predictions, all computed with scikit-learn."""
from ser_keras.evaluation.metrics import FBETA, classification_metrics

__all__ = ["FBETA", "classification_metrics"]

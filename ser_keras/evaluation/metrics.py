"""Classification metrics of one run (ho2020 App. B), computed with scikit-learn.

Accuracy, balanced accuracy (mean per-class recall), weighted precision, recall, F1 and
F-beta with beta = 0.5 (ho2020 App. B: "beta = 0.5 was chosen to lend more weight to
precision"), per-class precision/recall/F1/support, the confusion matrix (rows true, columns
predicted), and one-vs-rest ROC-AUC per class (Figs. 4-7) with their macro mean.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn import metrics as skm

FBETA = 0.5  # ho2020 App. B


def classification_metrics(y_true: Sequence[int], y_prob: np.ndarray,
                           classes: Sequence[str]) -> dict:
    y_true = np.asarray(y_true, dtype=int)
    y_prob = np.asarray(y_prob, dtype=float)
    y_pred = y_prob.argmax(axis=1)
    labels = list(range(len(classes)))
    precision, recall, fbeta, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="weighted", beta=FBETA, zero_division=0)
    per_p, per_r, per_f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0)
    roc = {}
    for i, name in enumerate(classes):
        positives = y_true == i
        # One-vs-rest AUC is undefined when the test fold lacks the class or has only it.
        roc[name] = (float(skm.roc_auc_score(positives, y_prob[:, i]))
                     if 0 < positives.sum() < len(y_true) else None)
    defined = [v for v in roc.values() if v is not None]
    roc["macro"] = float(np.mean(defined)) if defined else None
    return {
        "classes": list(classes),
        "n_test": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(_balanced_accuracy(y_true, y_pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(skm.f1_score(y_true, y_pred, labels=labels, average="weighted",
                                 zero_division=0)),
        "fbeta": float(fbeta),
        "fbeta_beta": FBETA,
        "per_class": {name: {"precision": float(per_p[i]), "recall": float(per_r[i]),
                             "f1": float(per_f1[i]), "support": int(support[i])}
                      for i, name in enumerate(classes)},
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "roc_auc": roc,
    }


def _balanced_accuracy(y_true, y_pred) -> float:
    import warnings

    # sklearn warns when a class of the label space is absent from y_true; the mean recall
    # over the classes present is what balanced accuracy means then.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return skm.balanced_accuracy_score(y_true, y_pred)

"""Run metrics agree with hand-computed values; undefined ROC-AUC stays undefined."""
import numpy as np
import pytest

from ser_keras.evaluation import classification_metrics

CLASSES = ("neutral", "angry", "sad", "happy")


def test_metrics_match_hand_counts():
    y_true = [0, 0, 1, 1, 2, 3]
    y_pred = [0, 1, 1, 1, 2, 0]
    probs = np.eye(4)[y_pred] * 0.7 + 0.075
    m = classification_metrics(y_true, probs, CLASSES)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # recalls: neutral 1/2, angry 2/2, sad 1/1, happy 0/1 -> mean 0.625
    assert m["balanced_accuracy"] == pytest.approx(0.625)
    # precisions: neutral 1/2, angry 2/3, sad 1, happy 0; weighted by support 2,2,1,1
    assert m["precision"] == pytest.approx((2 * 0.5 + 2 * 2 / 3 + 1 * 1 + 0) / 6)
    assert m["recall"] == pytest.approx(4 / 6)  # weighted recall = accuracy
    p, r = m["per_class"]["angry"]["precision"], m["per_class"]["angry"]["recall"]
    assert m["per_class"]["angry"]["f1"] == pytest.approx(2 * p * r / (p + r))
    assert m["confusion_matrix"][3] == [1, 0, 0, 0] and m["fbeta_beta"] == 0.5
    assert m["per_class"]["happy"]["support"] == 1 and m["n_test"] == 6


def test_roc_auc_of_an_absent_class_is_undefined():
    y_true = [0, 0, 1, 1]
    probs = np.array([[0.9, 0.05, 0.03, 0.02], [0.6, 0.3, 0.05, 0.05],
                      [0.2, 0.7, 0.05, 0.05], [0.4, 0.5, 0.05, 0.05]])
    m = classification_metrics(y_true, probs, CLASSES)
    assert m["roc_auc"]["sad"] is None and m["roc_auc"]["neutral"] == pytest.approx(1.0)
    assert m["roc_auc"]["macro"] == pytest.approx(1.0)

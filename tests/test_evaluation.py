"""The metric registry, the run reports and the t-tests agree with hand-computed values."""
import dataclasses
import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats

from ser_keras.errors import ConfigError
from ser_keras.evaluation import (FBETA, METRICS, Metric, ccc, classification_report, compute,
                                  get_metric, metric_names, regression_report, ttest_1samp,
                                  ttest_ind)

CLASSES = ("neutral", "angry", "sad", "happy")
# Hand-counted example: confusion rows (true) neutral [1,1,0,0], angry [0,2,0,0],
# sad [0,0,1,0], happy [1,0,0,0]; "happy" is never predicted.
Y_TRUE = np.array([0, 0, 1, 1, 2, 3])
Y_PRED = np.array([0, 1, 1, 1, 2, 0])
PROBS = np.eye(4)[Y_PRED] * 0.7 + 0.075  # rows sum to 1, argmax = Y_PRED
# per class: precision 1/2, 2/3, 1, 0; recall 1/2, 1, 1, 0; support 2, 2, 1, 1
PRECISION = (0.5, 2 / 3, 1.0, 0.0)
RECALL = (0.5, 1.0, 1.0, 0.0)
SUPPORT = (2, 2, 1, 1)


def _f(beta, p, r):
    return (1 + beta ** 2) * p * r / (beta ** 2 * p + r) if p + r else 0.0


def _weighted(values):
    return sum(s * v for s, v in zip(SUPPORT, values)) / sum(SUPPORT)


# --- classification --------------------------------------------------------------------------

def test_classification_metrics_match_hand_counts():
    m = classification_report(Y_TRUE, PROBS, CLASSES)["metrics"]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 1 + 0) / 4) == 0.625
    assert m["precision_weighted"] == pytest.approx((2 * 0.5 + 2 * 2 / 3 + 1 + 0) / 6)
    assert m["recall_weighted"] == pytest.approx(4 / 6)  # weighted recall = accuracy
    f1 = [_f(1, p, r) for p, r in zip(PRECISION, RECALL)]  # 0.5, 0.8, 1, 0
    assert f1[1] == pytest.approx(0.8)
    assert m["f1_macro"] == pytest.approx((0.5 + 0.8 + 1 + 0) / 4) == 0.575
    assert m["f1_weighted"] == pytest.approx(_weighted(f1))
    assert m["precision_macro"] == pytest.approx(sum(PRECISION) / 4)
    assert m["recall_macro"] == pytest.approx(sum(RECALL) / 4)
    f_half = [_f(0.5, p, r) for p, r in zip(PRECISION, RECALL)]  # angry: 5/7
    assert FBETA == 0.5 and f_half[1] == pytest.approx(5 / 7)
    assert m["fbeta_weighted"] == pytest.approx(_weighted(f_half))
    assert m["fbeta_weighted"] != pytest.approx(m["f1_weighted"])
    # the true class has probability 0.775 for 4 samples and 0.075 for 2
    assert m["log_loss"] == pytest.approx(-(4 * math.log(0.775) + 2 * math.log(0.075)) / 6)


def test_thresholded_metrics_count_class_entries_above_one_half():
    """kakuba2023's P, R (Keras Precision() / Recall() at 0.5) and F1 = 2PR / (P + R)."""
    y = np.array([0, 1, 2, 2])
    prob = np.array([[0.9, 0.05, 0.05],    # true 0 above 0.5: TP
                     [0.6, 0.3, 0.1],      # 0 above 0.5 but true 1: FP, true 1 missed
                     [0.4, 0.3, 0.3],      # nothing above 0.5: true 2 missed (argmax 0)
                     [0.1, 0.1, 0.8]])     # TP
    assert compute("precision_thresholded", y, prob) == pytest.approx(2 / 3)
    assert compute("recall_thresholded", y, prob) == pytest.approx(2 / 4)
    assert compute("f1_thresholded", y, prob) == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert compute("accuracy", y, prob) == pytest.approx(2 / 4)
    assert get_metric("keras_precision").name == "precision_thresholded"


def test_classification_report_layout_and_per_class_values():
    report = classification_report(Y_TRUE, PROBS, CLASSES)
    assert list(report) == ["kind", "classes", "n_test", "metrics", "per_class",
                            "confusion_matrix"]
    assert report["kind"] == "classification" and report["n_test"] == 6
    assert report["classes"] == list(CLASSES)
    assert set(report["metrics"]) == set(metric_names("classification"))
    assert report["confusion_matrix"] == [[1, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, 0],
                                          [1, 0, 0, 0]]
    for i, name in enumerate(CLASSES):
        row = report["per_class"][name]
        assert set(row) == {"precision", "recall", "f1", "support", "roc_auc"}
        assert row["precision"] == pytest.approx(PRECISION[i])
        assert row["recall"] == pytest.approx(RECALL[i])
        assert row["f1"] == pytest.approx(_f(1, PRECISION[i], RECALL[i]))
        assert row["support"] == SUPPORT[i] and type(row["support"]) is int
    # happy (index 3): its score is 0.075 for every sample -> AUC 0.5
    assert report["per_class"]["happy"]["roc_auc"] == pytest.approx(0.5)
    assert report["per_class"]["sad"]["roc_auc"] == pytest.approx(1.0)
    json.dumps(report, allow_nan=False)  # plain Python values only
    assert all(type(v) is int for row in report["confusion_matrix"] for v in row)


def test_roc_auc_of_an_absent_class_is_none_and_the_macro_skips_it():
    y_true = [0, 0, 1, 1]
    probs = np.array([[0.9, 0.05, 0.03, 0.02], [0.6, 0.3, 0.05, 0.05],
                      [0.2, 0.7, 0.05, 0.05], [0.4, 0.5, 0.05, 0.05]])
    report = classification_report(y_true, probs, CLASSES)
    per = report["per_class"]
    assert per["sad"]["roc_auc"] is None and per["happy"]["roc_auc"] is None
    assert per["neutral"]["roc_auc"] == pytest.approx(1.0)
    # angry: positives score 0.7, 0.5; negatives 0.05, 0.3 -> 1.0
    assert per["angry"]["roc_auc"] == pytest.approx(1.0)
    assert report["metrics"]["roc_auc_macro"] == pytest.approx(1.0)  # not (1 + 1) / 4
    probs[1, 1] = 0.6  # angry: negative 0.6 outranks the positive 0.5 only: AUC 3/4
    assert compute("roc_auc_macro", y_true, probs) == pytest.approx((1.0 + 0.75) / 2)


def test_roc_auc_macro_is_none_when_no_class_has_one():
    assert compute("roc_auc_macro", [1, 1], np.array([[0.2, 0.8], [0.4, 0.6]])) is None


def test_balanced_accuracy_averages_present_classes_without_warning():
    y_true = [0, 0, 1, 1]
    probs = np.eye(4)[[0, 2, 1, 1]]  # a predicted class (2) absent from y_true
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = compute("uar", y_true, probs)
    assert value == pytest.approx((0.5 + 1.0) / 2)
    assert compute("recall_macro", y_true, probs) == pytest.approx((0.5 + 1.0) / 4)


def test_log_loss_clips_zero_probabilities():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = compute("log_loss", [1, 1], probs)
    assert value == pytest.approx(-math.log(1e-7) / 2, rel=1e-6)
    # labels=range(k): a class absent from y_true is still a column
    assert compute("log_loss", [0, 0], np.array([[0.5, 0.25, 0.25]] * 2)) == pytest.approx(
        math.log(2))


def test_bad_class_indices_raise():
    with pytest.raises(ValueError):
        compute("accuracy", [0, 4], np.eye(4)[[0, 1]])


# --- the registry ----------------------------------------------------------------------------

def test_aliases_resolve_to_the_canonical_metric():
    for alias in ("uar", "ua", "acc_b"):
        assert get_metric(alias) is get_metric("balanced_accuracy")
    for alias in ("wa", "acc"):
        assert get_metric(alias).name == "accuracy"
    assert compute("uar", Y_TRUE, PROBS) == pytest.approx(0.625)
    assert compute("wa", Y_TRUE, PROBS) == pytest.approx(4 / 6)


def test_unknown_metric_names_the_known_ones():
    with pytest.raises(ConfigError) as info:
        get_metric("uwa")
    message = str(info.value)
    assert "uwa" in message
    assert all(name in message for name in ("balanced_accuracy", "f1_macro", "ccc", "mse"))
    with pytest.raises(ConfigError):
        compute("nope", Y_TRUE, PROBS)
    with pytest.raises(ConfigError):
        metric_names("ranking")


def test_metric_names_and_directions():
    assert metric_names("regression") == ["ccc", "mae", "mse", "pearson_r"]
    assert metric_names("classification") == sorted(
        ["accuracy", "balanced_accuracy", "precision_weighted", "recall_weighted",
         "f1_weighted", "fbeta_weighted", "precision_macro", "recall_macro", "f1_macro",
         "roc_auc_macro", "log_loss", "precision_thresholded", "recall_thresholded",
         "f1_thresholded"])
    assert metric_names() == sorted(metric_names("classification") + metric_names("regression"))
    lower = {name for name, metric in METRICS.items() if not metric.greater_is_better}
    assert lower == {"log_loss", "mse", "mae"}
    metric = get_metric("mse")
    assert isinstance(metric, Metric) and metric.kind == "regression" and metric.description
    with pytest.raises(dataclasses.FrozenInstanceError):
        metric.greater_is_better = True


# --- regression ------------------------------------------------------------------------------

def test_ccc_against_the_formula():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert ccc(y, y) == pytest.approx(1.0)
    # var (ddof=0) = cov = 1.25, mean shift 1: 2 * 1.25 / (1.25 + 1.25 + 1) = 5/7
    assert ccc(y, y + 1) == pytest.approx(5 / 7)
    # y and -y: cov -1.25, means 2.5 and -2.5: -2.5 / (2.5 + 25)
    assert ccc(y, -y) == pytest.approx(-2.5 / 27.5)
    assert ccc(y, -y) < 0
    assert ccc(y, 2 * y) == pytest.approx(2 * 2.5 / (1.25 + 5.0 + 2.5 ** 2))
    assert ccc([3.0, 3.0], [3.0, 3.0]) is None  # 0 / 0


def test_regression_metrics_match_hand_values():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    y_true = np.stack([y, y], axis=1)
    y_pred = np.stack([y + 1, y], axis=1)
    assert compute("ccc", y_true, y_pred) == pytest.approx((5 / 7 + 1) / 2)
    assert compute("mse", y_true, y_pred) == pytest.approx((1 + 0) / 2)
    assert compute("mae", y_true, y_pred + np.array([0.0, 2.0])) == pytest.approx((1 + 2) / 2)
    assert compute("mse", y_true, y_pred + np.array([0.0, 2.0])) == pytest.approx((1 + 4) / 2)
    assert compute("pearson_r", y_true, y_pred) == pytest.approx(1.0)  # a shift: r = 1
    # x - 2 = [-1, 0, 1], y - 2 = [-1, 1, 0]: r = 1 / sqrt(2 * 2)
    assert compute("pearson_r", [1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)


def test_pearson_r_of_a_constant_column_is_none():
    y_true = np.array([[1.0, 2.0], [2.0, 2.0], [3.0, 2.0]])
    y_pred = np.array([[1.0, 1.0], [3.0, 2.0], [2.0, 3.0]])
    report = regression_report(y_true, y_pred, ["valence", "arousal"])
    assert report["per_target"]["arousal"]["pearson_r"] is None
    assert report["per_target"]["valence"]["pearson_r"] == pytest.approx(0.5)
    assert report["metrics"]["pearson_r"] == pytest.approx(0.5)  # over the defined target
    assert compute("pearson_r", [2, 2, 2], [1, 2, 3]) is None


def test_regression_report_layout():
    y_true = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0]])
    y_pred = np.array([[2.0, 0.0], [3.0, 1.0], [4.0, 0.0], [5.0, 1.0]])
    report = regression_report(y_true, y_pred, ["valence", "arousal"])
    assert list(report) == ["kind", "targets", "n_test", "metrics", "per_target"]
    assert report["kind"] == "regression" and report["n_test"] == 4
    assert report["targets"] == ["valence", "arousal"]
    assert set(report["metrics"]) == {"mse", "mae", "ccc", "pearson_r"}
    valence, arousal = report["per_target"]["valence"], report["per_target"]["arousal"]
    assert valence["ccc"] == pytest.approx(5 / 7) and arousal["ccc"] == pytest.approx(1.0)
    assert valence["mse"] == pytest.approx(1.0) and arousal["mae"] == pytest.approx(0.0)
    assert report["metrics"]["ccc"] == pytest.approx((5 / 7 + 1) / 2)
    json.dumps(report, allow_nan=False)


# --- significance ----------------------------------------------------------------------------

A = [1.0, 2.0, 3.0, 4.0]
B = [2.0, 4.0, 6.0, 8.0, 10.0]


def test_ttest_ind_is_students_two_sided_test():
    result = ttest_ind(A, B)
    # pooled variance: (3 * 5/3 + 4 * 10) / 7 = 45/7; se = sqrt(45/7 * (1/4 + 1/5))
    t = (2.5 - 6.0) / math.sqrt(45 / 7 * (1 / 4 + 1 / 5))
    assert result["t"] == pytest.approx(t)
    assert result["p"] == pytest.approx(2 * stats.t.sf(abs(t), df=7))  # two-sided
    reference = stats.ttest_ind(A, B)
    assert result["t"] == pytest.approx(reference.statistic)
    assert result["p"] == pytest.approx(reference.pvalue)
    assert (result["n_a"], result["n_b"]) == (4, 5)
    assert (result["mean_a"], result["mean_b"]) == (2.5, 6.0)
    welch = ttest_ind(A, B, equal_var=False)
    assert welch["p"] == pytest.approx(stats.ttest_ind(A, B, equal_var=False).pvalue)
    assert welch["p"] != pytest.approx(result["p"])
    assert ttest_ind(B, A)["t"] == pytest.approx(-t)
    json.dumps(result, allow_nan=False)


def test_ttest_1samp_of_residuals():
    residuals = [0.5, -0.2, 0.3, 0.1, 0.4]
    result = ttest_1samp(residuals)
    mean, sd = np.mean(residuals), np.std(residuals, ddof=1)
    t = mean / (sd / math.sqrt(5))
    assert result["t"] == pytest.approx(t)
    assert result["p"] == pytest.approx(2 * stats.t.sf(abs(t), df=4))
    assert result["n"] == 5 and result["mean"] == pytest.approx(0.22)
    shifted = ttest_1samp(residuals, popmean=0.22)
    assert shifted["t"] == pytest.approx(0.0, abs=1e-12) and shifted["p"] == pytest.approx(1.0)


def test_degenerate_t_tests_give_none():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cases = [ttest_1samp([0.3]), ttest_1samp([2.0, 2.0, 2.0]), ttest_1samp([]),
                 ttest_ind([1.0], [2.0]), ttest_ind([1.0, 1.0], [1.0, 1.0]),
                 ttest_ind([1.0, 1.0], [2.0, 2.0]), ttest_ind([], [1.0, 2.0])]
    for result in cases:
        assert result["t"] is None and result["p"] is None
        json.dumps(result, allow_nan=False)
    assert ttest_1samp([]).get("mean") is None and ttest_1samp([0.3])["n"] == 1

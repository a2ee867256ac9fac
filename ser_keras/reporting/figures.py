"""Figures of one table cell from its run folders: confusion matrix and one-vs-rest ROC curves.

- Confusion matrix: the runs' ``confusion_matrix`` (metrics.json) summed over folds x seeds,
  row-normalised (each true class sums to 100 %), every cell annotated with its percentage
  and count.
- ROC curves (ho2020 Figs. 4-7): ``predictions.csv`` of every run pooled, one curve per class
  (that class against the rest) from ``sklearn.metrics.roc_curve`` / ``auc``.

Both are written as PNG with matplotlib's Agg backend, imported only when a figure is drawn.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from ser_keras.reporting.runs import read_run


def _classes_of(records: Sequence[dict]) -> list[str]:
    classes = list(records[0]["classes"])
    for record in records[1:]:
        if list(record["classes"]) != classes:
            raise ValueError(f"runs disagree on classes: {record['run_dir']} has "
                             f"{record['classes']}, {records[0]['run_dir']} has {classes}")
    return classes


def summed_confusion(run_dirs: Sequence[str | Path]) -> tuple[list[str], np.ndarray]:
    """(classes, counts summed over runs; rows true, columns predicted)."""
    records = [read_run(d) for d in run_dirs]
    if not records:
        raise ValueError("no runs to sum")
    classes = _classes_of(records)
    total = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for record in records:
        total += np.asarray(record["confusion_matrix"], dtype=np.int64)
    return classes, total


def row_normalise(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its sum; a class absent from every test fold stays all zeros."""
    sums = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, sums, out=np.zeros(counts.shape, dtype=float), where=sums > 0)


def pooled_predictions(run_dirs: Sequence[str | Path]) -> tuple[list[str], pd.DataFrame]:
    """(classes, predictions.csv of every run that has one, concatenated)."""
    records = [read_run(d) for d in run_dirs]
    classes = _classes_of(records) if records else []
    frames = [pd.read_csv(Path(r["run_dir"]) / "predictions.csv") for r in records
              if (Path(r["run_dir"]) / "predictions.csv").is_file()]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return classes, frame


def roc_curves(classes: Sequence[str], predictions: pd.DataFrame
               ) -> dict[str, tuple[np.ndarray, np.ndarray, float] | None]:
    """Per class (fpr, tpr, AUC) of that class against the rest; None where undefined."""
    absent = [f"prob_{c}" for c in classes if f"prob_{c}" not in predictions.columns]
    if absent or "true" not in predictions.columns:
        raise ValueError(f"predictions lack columns {absent or ['true']}")
    curves = {}
    for cls in classes:
        positives = (predictions["true"] == cls).to_numpy()
        # One-vs-rest is undefined when the pooled test set lacks the class or has only it.
        if not 0 < positives.sum() < len(positives):
            curves[cls] = None
            continue
        fpr, tpr, _ = skm.roc_curve(positives, predictions[f"prob_{cls}"].to_numpy(float))
        curves[cls] = (fpr, tpr, float(skm.auc(fpr, tpr)))
    return curves


def _figure(size: tuple[float, float]):
    import matplotlib
    matplotlib.use("Agg")  # files only: never needs a display
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=120)


def count_change(counts: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Per cell the % change of ``counts`` against ``baseline`` (NaN where the baseline is 0)."""
    counts, baseline = np.asarray(counts, float), np.asarray(baseline, float)
    return np.divide(100.0 * (counts - baseline), baseline,
                     out=np.full(counts.shape, np.nan), where=baseline > 0)


def confusion_figure(run_dirs: Sequence[str | Path], path: str | Path, title: str,
                     baseline_dirs: Sequence[str | Path] | None = None,
                     baseline: str = "") -> Path:
    """Write the summed, row-normalised, annotated confusion matrix of the runs as PNG; with
    ``baseline_dirs`` every cell also shows the % change of its count against the baseline
    runs' (triantafyllopoulos2022 Fig. 3: the fusion models against CNN14)."""
    classes, counts = summed_confusion(run_dirs)
    change = None
    if baseline_dirs:
        base_classes, base_counts = summed_confusion(baseline_dirs)
        if list(base_classes) == list(classes):
            # per run, so cells with different numbers of finished runs compare fairly
            change = count_change(counts / len(run_dirs), base_counts / len(baseline_dirs))
    rates = row_normalise(counts)
    k = len(classes)
    fig = _figure((1.2 + 0.8 * k, 1.0 + 0.75 * k))
    ax = fig.add_subplot()
    image = ax.imshow(rates, vmin=0.0, vmax=1.0, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    for i in range(k):
        for j in range(k):
            text = f"{100 * rates[i, j]:.1f}%\n({counts[i, j]})"
            if change is not None:
                text += ("\nnew" if np.isnan(change[i, j]) else f"\n{change[i, j]:+.0f}%")
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    if change is not None:
        title += f" (count change vs {baseline})"
    ax.set_xticks(range(k), classes, rotation=45, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}\n{len(run_dirs)} runs, {counts.sum()} utterances", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def roc_figure(run_dirs: Sequence[str | Path], path: str | Path, title: str) -> Path | None:
    """Write one-vs-rest ROC curves per class, predictions pooled over runs; None when no run
    has a predictions.csv."""
    classes, predictions = pooled_predictions(run_dirs)
    if predictions.empty:
        return None
    curves = roc_curves(classes, predictions)
    fig = _figure((5.0, 4.6))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    for cls, curve in curves.items():
        if curve is None:
            ax.plot([], [], label=f"{cls} (undefined)")
            continue
        fpr, tpr, area = curve
        ax.plot(fpr, tpr, linewidth=1.2, label=f"{cls} (AUC = {area:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"{title}\n{len(predictions)} pooled predictions", fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def residual_figure(residuals: dict[str, pd.DataFrame], order: Sequence[str],
                    path: str | Path, title: str) -> Path | None:
    """Box plots of the error residuals (y_true - y_pred) per annotation value, one panel per
    model (triantafyllopoulos2022 Fig. 4); ``residuals`` maps a model to a frame with the
    columns ``value`` and ``residual``. None when no model has residuals."""
    panels = {name: frame for name, frame in residuals.items() if not frame.empty}
    if not panels:
        return None
    fig = _figure((2.6 * len(panels) + 0.6, 3.4))
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, (name, frame) in zip(axes, panels.items()):
        groups = [frame.loc[frame["value"] == v, "residual"].to_numpy(float) for v in order]
        ax.boxplot([g if g.size else [np.nan] for g in groups], showfliers=False)
        ax.set_xticks(range(1, len(order) + 1), order, rotation=90, fontsize=7)
        ax.axhline(0.0, color="grey", linewidth=0.8, linestyle="--")
        ax.set_title(name, fontsize=8)
    axes[0].set_ylabel("residual (true - predicted)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path

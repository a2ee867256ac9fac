"""Figures of one table cell from its run folders: confusion matrix and one-vs-rest ROC curves;
and the charts of declared figures from their tables' numbers.

- Confusion matrix: the runs' ``confusion_matrix`` (metrics.json) summed over folds x seeds,
  row-normalised (each true class sums to 100 %), every cell annotated with its percentage
  and count.
- ROC curves (ho2020 Figs. 4-7): ``predictions.csv`` of every run pooled, one curve per class
  (that class against the rest) from ``sklearn.metrics.roc_curve`` / ``auc``.
- ``run_roc_bands`` / ``roc_band_figure``: a declared figure of kind ``roc`` (ho2020
  Figs. 4-7 as drawn): per class the ROC of each run, its TPR interpolated on a common FPR
  grid, drawn as the mean curve over runs with a ±1 std band, AUC mean ± std in the legend.
- ``bar_chart`` / ``curve_chart``: a declared figure (``tables.yaml`` ``figures:``) drawn from
  plain numbers (the report passes its table's means, stds and published values).

Both are written as PNG with matplotlib's Agg backend, imported only when a figure is drawn.
"""
from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Mapping, Sequence

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


@dataclasses.dataclass(frozen=True)
class Bars:
    """One bar per position: our means (NaN: no runs) with their stds, and the published
    values (NaN where the paper gives none)."""

    name: str
    means: Sequence[float]
    stds: Sequence[float]
    published: Sequence[float]


def _save(fig, path: str | Path) -> Path:
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def bar_chart(positions: Sequence[str], bars: Sequence[Bars], path: str | Path, title: str,
              ylabel: str, rest: str = "") -> Path:
    """Grouped bars per position, the published values as black diamonds beside ours; with
    ``rest`` (one bar of percentages) the complement to 100 % is stacked on it, so named."""
    n, k = len(positions), len(bars)
    fig = _figure((3.2 + 1.1 * n, 3.8))
    ax = fig.add_subplot()
    x = np.arange(n, dtype=float)
    width = 0.8 / k
    for j, bar in enumerate(bars):
        means = np.asarray(bar.means, dtype=float)
        stds = np.asarray(bar.stds, dtype=float)
        at = x - 0.4 + width * (j + 0.5)
        heights = np.nan_to_num(means)
        ax.bar(at, heights, width, label=f"{bar.name} (ours)")
        spread = ~np.isnan(stds) & ~np.isnan(means)   # a std needs two runs or more
        if spread.any():
            ax.errorbar(at[spread], means[spread], yerr=stds[spread], fmt="none",
                        ecolor="black", capsize=3, linewidth=0.8)
        if rest:
            ax.bar(at, np.where(np.isnan(means), 0.0, 100.0 - heights), width,
                   bottom=heights, color="lightgrey", label=f"{rest} (ours)")
        for xi, mean in zip(at, means):
            ax.text(xi, 1.0, "no runs" if np.isnan(mean) else f"{mean:.1f}", ha="center",
                    va="bottom", fontsize=7, rotation=90 if np.isnan(mean) else 0)
        published = np.asarray(bar.published, dtype=float)
        shown = ~np.isnan(published)
        if shown.any():
            ax.plot(at[shown], published[shown], "D", color="black", markersize=5,
                    label=f"{bar.name} (paper)")
            for xi, value in zip(at[shown], published[shown]):
                ax.annotate(f"{value:.1f}", (xi, value), textcoords="offset points",
                            xytext=(6, 0), fontsize=7, va="center")
    ax.set_xticks(x, positions, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    if rest or all(np.nanmax(np.r_[np.asarray(b.means, float), np.asarray(b.published, float),
                                   0.0]) <= 100.0 for b in bars):
        ax.set_ylim(0, 105)
    ax.set_title(textwrap.fill(title, int(14 + 14 * n)), fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)


@dataclasses.dataclass(frozen=True)
class Curve:
    """One line of a panel: its joined points (x, y, text) in order, and its reference
    points (x, y, text) drawn apart, with one marker per text."""

    name: str
    points: Sequence[tuple[float, float, str]]
    references: Sequence[tuple[float, float, str]] = ()


REFERENCE_MARKERS = ("s", "*", "^", "v", "P", "X")


def curve_chart(panels: Mapping[str, Sequence[Curve]], path: str | Path, title: str,
                xlabel: str, ylabel: str) -> Path:
    """One panel per entry; in each, one line per curve through its points (each labelled
    with its text) and its reference points (a marker per text, labelled). Points with a
    NaN coordinate (no runs) are left out; a panel without any says so."""
    texts = list(dict.fromkeys(t for curves in panels.values() for c in curves
                               for *_, t in c.references))
    markers = {t: REFERENCE_MARKERS[i % len(REFERENCE_MARKERS)] for i, t in enumerate(texts)}
    fig = _figure((0.6 + 3.6 * max(len(panels), 1), 3.9))
    axes = fig.subplots(1, max(len(panels), 1), squeeze=False)[0]
    for ax, (name, curves) in zip(axes, panels.items()):
        drawn = False
        for i, curve in enumerate(curves):
            color = f"C{i}"
            pts = [(x, y, t) for x, y, t in curve.points if not (np.isnan(x) or np.isnan(y))]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=color,
                        markersize=4, linewidth=1.2, label=curve.name)
                for x, y, t in pts:
                    ax.annotate(t, (x, y), textcoords="offset points", xytext=(4, 3),
                                fontsize=6, color=color)
            for x, y, t in curve.references:
                if np.isnan(x) or np.isnan(y):
                    continue
                ax.plot([x], [y], markers[t], color=color, markersize=7,
                        markerfacecolor="none", label=None if pts else curve.name)
                ax.annotate(t, (x, y), textcoords="offset points", xytext=(4, -9),
                            fontsize=6, color=color)
                drawn = True
            drawn = drawn or bool(pts)
        if not drawn:
            ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.grid(alpha=0.3)
        if drawn:
            handles = [ax.plot([], [], m, color="grey", markerfacecolor="none")[0]
                       for m in markers.values()]
            ax.legend(ax.get_legend_handles_labels()[0] + handles,
                      ax.get_legend_handles_labels()[1] + list(markers), fontsize=6)
    axes[0].set_ylabel(ylabel, fontsize=8)
    fig.suptitle(textwrap.fill(title, int(40 + 45 * max(len(panels), 1))), fontsize=9)
    return _save(fig, path)


# --- per-class ROC curves, mean ± std over runs (kind: roc) ----------------------------------

ROC_GRID = np.linspace(0.0, 1.0, 101)   # the common false positive rates of the mean curves


@dataclasses.dataclass(frozen=True)
class RocBand:
    """One class's one-vs-rest ROC over runs: per run (that has the class in its truths and
    some other class too) its AUC and its TPR interpolated on ``ROC_GRID``; ``skipped``
    counts the runs without it (or with nothing else), left out of the mean."""

    name: str
    aucs: tuple[float, ...]
    tprs: np.ndarray           # (runs, len(ROC_GRID))
    skipped: int = 0

    @property
    def n(self) -> int:
        return len(self.aucs)

    @property
    def auc_mean(self) -> float:
        return float(np.mean(self.aucs)) if self.aucs else float("nan")

    @property
    def auc_std(self) -> float:
        return float(np.std(self.aucs, ddof=1)) if len(self.aucs) > 1 else float("nan")

    @property
    def tpr_mean(self) -> np.ndarray:
        return self.tprs.mean(axis=0) if self.n else np.full(ROC_GRID.shape, np.nan)

    @property
    def tpr_std(self) -> np.ndarray:
        return (self.tprs.std(axis=0, ddof=1) if self.n > 1
                else np.full(ROC_GRID.shape, np.nan))


def run_roc_bands(classes: Sequence[str], frames: Sequence[pd.DataFrame],
                  grid: np.ndarray = ROC_GRID) -> list[RocBand]:
    """Per class the ROC of every run's predictions.csv frame (``true``, ``prob_<class>``):
    ``roc_auc_score`` and ``np.interp(grid, fpr, tpr)`` of ``roc_curve`` per run; a run whose truths lack the class (or hold
    only it) is skipped for that class and counted."""
    bands = []
    for cls in classes:
        aucs, tprs, skipped = [], [], 0
        for frame in frames:
            column = f"prob_{cls}"
            if column not in frame.columns or "true" not in frame.columns:
                raise ValueError(f"predictions lack the column {column!r} or 'true'")
            positives = (frame["true"].astype(str) == cls).to_numpy()
            if not 0 < positives.sum() < len(positives):
                skipped += 1
                continue
            scores = frame[column].to_numpy(float)
            fpr, tpr, _ = skm.roc_curve(positives, scores)
            curve = np.interp(grid, fpr, tpr)
            aucs.append(float(skm.roc_auc_score(positives, scores)))
            tprs.append(curve)
        bands.append(RocBand(cls, tuple(aucs),
                             np.asarray(tprs, float).reshape(len(tprs), len(grid)), skipped))
    return bands


def roc_band_table(bands: Sequence[RocBand]) -> pd.DataFrame:
    """One row per class: AUC mean and std (ddof=1) over the runs, runs used and skipped."""
    return pd.DataFrame({"class": [b.name for b in bands],
                         "auc_mean": [b.auc_mean for b in bands],
                         "auc_std": [b.auc_std for b in bands],
                         "runs": [b.n for b in bands],
                         "runs_skipped": [b.skipped for b in bands]})


def _auc_text(band: RocBand) -> str:
    if not band.n:
        return "no run has it"
    if band.n == 1:
        return f"{band.auc_mean:.3f}, 1 run"
    return f"{band.auc_mean:.3f} ± {band.auc_std:.3f}"


def write_roc_band_table(bands: Sequence[RocBand], stem: str | Path, title: str,
                         caption: str) -> dict[str, Path]:
    """``<stem>.md`` and ``<stem>.csv``: the per-class AUC numbers of a ROC figure."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    frame = roc_band_table(bands)
    paths = {"auc_md": stem.with_name(stem.name + ".md"),
             "auc_csv": stem.with_name(stem.name + ".csv")}
    frame.to_csv(paths["auc_csv"], index=False, float_format="%.6f")
    lines = [f"# {title}", "", caption, "", "| Class | AUC (mean ± std) | Runs | Skipped |",
             "|:--|--:|--:|--:|"]
    lines += [f"| {b.name} | {_auc_text(b)} | {b.n} | {b.skipped} |" for b in bands]
    paths["auc_md"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def roc_band_figure(bands: Sequence[RocBand], path: str | Path, title: str,
                    caption: str) -> Path:
    """Per class the mean ROC curve over runs with a ±1 std band (clipped to [0, 1]); the
    legend reads "class (AUC mean ± std)"."""
    fig = _figure((5.4, 5.2))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    for i, band in enumerate(bands):
        color = f"C{i % 10}"
        if not band.n:
            ax.plot([], [], color=color, label=f"{band.name} (no run has it)")
            continue
        mean = band.tpr_mean
        ax.plot(ROC_GRID, mean, color=color, linewidth=1.3,
                label=f"{band.name} (AUC {_auc_text(band)})")
        if band.n > 1:
            std = band.tpr_std
            ax.fill_between(ROC_GRID, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1),
                            color=color, alpha=0.15, linewidth=0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(textwrap.fill(title, 70) + "\n" + textwrap.fill(caption, 80), fontsize=8)
    ax.legend(loc="lower right", fontsize=7)
    return _save(fig, path)

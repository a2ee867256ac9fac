"""Declared figures of kind ``roc`` (ho2020 Figs. 4-7): per-class ROC curves, mean ± std over
the runs of a cell, from fabricated runs with fixed probabilities.

Each run folder holds a metrics.json (``classification_report`` of its probabilities) and a
predictions.csv (``write_predictions``); the expected numbers are scikit-learn's per run, then
numpy over runs (ddof=1).
"""
import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from ser_keras.config import experiments_dir
from ser_keras.errors import ConfigError
from ser_keras.evaluation import classification_report
from ser_keras.reporting import write_report
from ser_keras.reporting.declared import load_paper
from ser_keras.reporting.figures import ROC_GRID, run_roc_bands
from ser_keras.training.runner import write_predictions

CLASSES = ["neutral", "angry", "sad", "happy"]   # iemocap4, in its order
CELL = "improvised-multimodal"
N_FOLDS = 4
MISSING_IN = 2      # the fold whose test part has no "sad"


def fixed_run(fold: int):
    """(y_true, probabilities) of one fold: fixed, every class but one present."""
    rng = np.random.default_rng(100 + fold)
    n = 24
    y_true = np.resize(np.arange(len(CLASSES)), n)
    if fold == MISSING_IN:
        y_true = np.where(y_true == CLASSES.index("sad"), 0, y_true)
    prob = rng.dirichlet(np.ones(len(CLASSES)), size=n)
    prob[np.arange(n), y_true] += rng.uniform(0.0, 0.6, size=n)
    return y_true, prob / prob.sum(axis=1, keepdims=True)


def write_run(root, fold, seed=0, cell=CELL, predictions=True):
    y_true, prob = fixed_run(fold)
    scenario, modality = cell.split("-")
    run = {"experiment": "ho2020/table3", "paper": "ho2020", "cell": cell,
           "labels": {"scenario": scenario, "modality": modality}, "model": "mmfa",
           "task": "supervised", "dataset": "iemocap", "test_dataset": "iemocap",
           "class_set": "iemocap4", "protocol": "loso10", "scenario": scenario,
           "targets": ["classes"], "fold": fold, "fold_name": f"f{fold}", "seed": seed}
    directory = root / "ho2020/table3" / "iemocap" / cell / f"fold{fold:02d}-seed{seed}"
    directory.mkdir(parents=True)
    if predictions:
        write_predictions(directory / "predictions.csv",
                          [f"{cell}-{fold}-{i}" for i in range(len(y_true))], y_true, prob,
                          CLASSES, False)
    record = {"run": run, **classification_report(y_true, prob, CLASSES)}
    (directory / "metrics.json").write_text(json.dumps(record, default=float))
    return directory


def expected(folds):
    """Per class: (AUCs per run with the class, mean TPR on the grid, runs skipped), from
    the predictions as written (6 decimals)."""
    out = {}
    for k, cls in enumerate(CLASSES):
        aucs, tprs, skipped = [], [], 0
        for fold in folds:
            y_true, prob = fixed_run(fold)
            prob = np.round(prob, 6)
            positives = y_true == k
            if not positives.any():
                skipped += 1
                continue
            aucs.append(skm.roc_auc_score(positives, prob[:, k]))
            fpr, tpr, _ = skm.roc_curve(positives, prob[:, k])
            tprs.append(np.interp(np.linspace(0, 1, 101), fpr, tpr))
        out[cls] = (np.array(aucs), np.mean(tprs, axis=0), skipped)
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("roc")
    root, experiments, out = base / "runs", base / "experiments", base / "out"
    shutil.copytree(experiments_dir() / "ho2020", experiments / "ho2020")
    for fold in range(N_FOLDS):
        write_run(root, fold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = write_report(root, out, experiments)
    return {"root": root, "out": out, "summary": summary}


def test_bands_equal_sklearn_per_run_then_numpy():
    frames = []
    for fold in range(N_FOLDS):
        y_true, prob = fixed_run(fold)
        frame = pd.DataFrame(prob, columns=[f"prob_{c}" for c in CLASSES])
        frame.insert(0, "true", [CLASSES[t] for t in y_true])
        frames.append(frame)
    bands = run_roc_bands(CLASSES, frames)
    assert np.array_equal(ROC_GRID, np.linspace(0, 1, 101))
    for band in bands:
        k = CLASSES.index(band.name)
        aucs, tprs = [], []
        for fold in range(N_FOLDS):
            y_true, prob = fixed_run(fold)
            if not (y_true == k).any():
                continue
            aucs.append(skm.roc_auc_score(y_true == k, prob[:, k]))
            fpr, tpr, _ = skm.roc_curve(y_true == k, prob[:, k])
            tprs.append(np.interp(ROC_GRID, fpr, tpr))
        assert band.aucs == pytest.approx(aucs, abs=1e-12)
        assert band.auc_mean == pytest.approx(np.mean(aucs), abs=1e-12)
        assert band.auc_std == pytest.approx(np.std(aucs, ddof=1), abs=1e-12)
        assert np.allclose(band.tpr_mean, np.mean(tprs, axis=0), atol=1e-12)
        assert np.allclose(band.tpr_std, np.std(tprs, axis=0, ddof=1), atol=1e-12)
        # the class missing in one run is skipped there and counted
        assert band.skipped == (1 if band.name == "sad" else 0)
        assert band.n == N_FOLDS - band.skipped


def test_png_and_auc_table_are_written(report):
    out = report["out"]
    png = out / "figures" / f"ho2020_fig4_four_iemocap_{CELL}.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out / "figures" / f"ho2020_fig4_four_iemocap_{CELL}_auc.csv")
    want = expected(range(N_FOLDS))
    assert table["class"].tolist() == CLASSES
    for _, row in table.iterrows():
        aucs, _, skipped = want[row["class"]]
        assert row["auc_mean"] == pytest.approx(np.mean(aucs), abs=1e-6)
        assert row["auc_std"] == pytest.approx(np.std(aucs, ddof=1), abs=1e-6)
        assert row["runs"] == len(aucs) and row["runs_skipped"] == skipped
    md = (out / "figures" / f"ho2020_fig4_four_iemocap_{CELL}_auc.md").read_text()
    sad = want["sad"][0]
    assert f"| sad | {np.mean(sad):.3f} ± {np.std(sad, ddof=1):.3f} | 3 | 1 |" in md
    assert "4 fold(s) x 1 seed(s)" in md and "sad (1)" in md
    # the figure's table (metrics.json's per-class AUC) agrees, missing cells have commands
    fig_md = (out / "ho2020_fig4_four_iemocap.md").read_text()
    assert "ser-train --experiment ho2020/table3 --cells improvised-audio" in fig_md
    assert f"figures/ho2020_fig4_four_iemocap_{CELL}.png" in fig_md
    csv = pd.read_csv(out / "ho2020_fig4_four_iemocap.csv")
    ours = csv[csv["cell"] == CELL].set_index("class")["ours_mean"]
    for cls in CLASSES:
        assert ours[cls] == pytest.approx(np.mean(want[cls][0]), abs=1e-4)
    # the index links the figure
    assert f"figures/ho2020_fig4_four_iemocap_{CELL}.png" in (out / "README.md").read_text()


def test_missing_runs_give_commands_not_a_crash(report):
    out = report["out"]
    # no runs of table4, nor of ho2020/table6: tables with commands (MOSEI: --dataset), no PNG
    for stem, command in (("ho2020_fig5_eight_iemocap", "--experiment ho2020/table4 --cells "
                                                        "mixed-multimodal"),
                          ("ho2020_fig6_meld", "--experiment ho2020/table6 --cells audio"),
                          ("ho2020_fig7_mosei", "--experiment ho2020/table6 --dataset mosei "
                                                "--cells text")):
        assert f"ser-train {command}" in (out / f"{stem}.md").read_text()
        assert not list((out / "figures").glob(f"{stem}_*.png"))


def test_runs_without_predictions_are_left_out(tmp_path):
    root, experiments = tmp_path / "runs", tmp_path / "experiments"
    shutil.copytree(experiments_dir() / "ho2020", experiments / "ho2020")
    write_run(root, 0, predictions=False)
    write_run(root, 1)
    write_run(root, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_report(root, tmp_path / "out", experiments)
    md = (tmp_path / "out" / "figures" / f"ho2020_fig4_four_iemocap_{CELL}_auc.md").read_text()
    assert "over 2 runs" in md and "1 run(s) without predictions.csv left out" in md


def test_ho2020_declaration_loads():
    decls = load_paper(experiments_dir() / "ho2020" / "tables.yaml")
    figures = {f.name: f for f in decls.figures}
    assert list(figures) == ["fig4_four", "fig4_eight", "fig5_four", "fig5_eight", "fig6",
                             "fig7"]
    assert all(f.kind == "roc" and f.rows[-1] == "class" for f in figures.values())
    assert (figures["fig4_four"].axes["scenario"], figures["fig4_four"].class_set) == (
        ["improvised"], "iemocap4")
    assert (figures["fig5_eight"].axes["scenario"], figures["fig5_eight"].class_set) == (
        ["mixed"], "iemocap8")
    assert (figures["fig6"].dataset, figures["fig6"].class_set) == ("meld", "meld7")
    assert (figures["fig7"].dataset, figures["fig7"].class_set) == ("mosei", "mosei6")


def test_roc_kind_is_validated(tmp_path):
    path = tmp_path / "tables.yaml"
    base = ("paper: p\nfigures:\n  - {name: f, label: F, title: t, experiment: p/t, "
            "dataset: iemocap, class_set: iemocap4, kind: roc, axes: {modality: [audio]}, ")
    path.write_text(base + "rows: [class, modality], columns: [{header: AUC, metric: "
                    "roc_auc}]}\n")
    with pytest.raises(ConfigError, match="last row axis"):
        load_paper(path)
    path.write_text(base + "rows: [modality, class], columns: [{header: F1, metric: f1}]}\n")
    with pytest.raises(ConfigError, match="metric roc_auc"):
        load_paper(path)
    path.write_text(base + "rows: [modality, class], x: AUC, columns: [{header: AUC, "
                    "metric: roc_auc}]}\n")
    with pytest.raises(ConfigError, match="no keys of kind roc"):
        load_paper(path)

"""ser-report's triantafyllopoulos2022 features on FABRICATED run folders: seeds aggregated
(per seed the mean over folds, then mean and sample std over seeds), the seed best on
validation, computed significance marks, the published marks, literature rows, columns that
read cells by their labels, a stratum axis, residual tests per user annotation, tables over
every corpus grouped by stand-in, figures against a baseline cell; and the shipped
triantafyllopoulos2022 tables.yaml.

The runs are written in the runner's schema (``metrics.json`` blocks from
``ser_keras.evaluation``, ``predictions.csv`` / ``validation_predictions.csv`` by the runner's
own writer) into a temporary runs folder; the tables come from a made-up paper ``tri2022``
declared in a temporary experiments folder.

    .venv/bin/python -m pytest -q tests/test_reporting_triantafyllopoulos.py
"""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ser_keras.cli.report import main
from ser_keras.config import experiments_dir
from ser_keras.evaluation import classification_report, regression_report
from ser_keras.reporting import load_tables, write_report
from ser_keras.reporting.report import read_annotations
from ser_keras.training.runner import VALIDATION_PREDICTIONS, write_predictions

PAPER = "tri2022"
CLASSES = ["neutral", "angry", "sad", "happy"]
N_TEST = 20

EXPERIMENT_YAML = """\
name: tri2022/exp
paper: tri2022
class_set: cross4
templates:                      # YAML anchors only: dropped when the file is read
  strat: &strat {strata: [scenario]}
cells:
  - {id: in-cnn, model: mlp, overrides: *strat,
     labels: {model: cnn14, train: iemocap, test: iemocap}}
  - {id: in-sf, model: mlp, labels: {model: sfcnn14, train: iemocap, test: iemocap}}
  - {id: in-mf, model: mlp, labels: {model: mfcnn14, train: iemocap, test: iemocap}}
  - {id: x-cnn, model: mlp, labels: {model: cnn14, train: iemocap, test: msp-podcast}}
  - {id: x-sf, model: mlp, labels: {model: sfcnn14, train: iemocap, test: msp-podcast}}
  - {id: x-mf, model: mlp, labels: {model: mfcnn14, train: iemocap, test: msp-podcast}}
"""

DIMS_YAML = """\
name: tri2022/dims
paper: tri2022
class_set: cross-dims
targets: [arousal]
cells:
  - {id: r-cnn, model: mlp, labels: {model: cnn14, task: arousal}}
  - {id: r-bert, model: mlp, labels: {model: bert, task: arousal}}
  - {id: r-mf, model: mlp, labels: {model: mfcnn14, task: arousal}}
"""

TABLES_YAML = """\
paper: tri2022
defaults:
  dataset: iemocap
  per_dataset: false
  expected_folds: 2
  class_set: cross4
  display: {lit: "Lit [1]", cnn14: CNN14, sfcnn14: SFCNN14, mfcnn14: MFCNN14, bert: BERT}
  published: {table: "{table}", model: "{model}", test: "{test}", stratum: "{stratum}",
              metric: "{published}"}
tables:
  - name: seeds
    label: Table 1
    title: "accuracy over seeds"
    experiment: tri2022/exp
    aggregate: seeds
    rows: [model]
    axes: {model: [lit, cnn14, sfcnn14, mfcnn14]}
    literature: {model: [lit]}
    significance:
      - {mark: "*", against: {model: cnn14}, where: {model: [sfcnn14]}}
    columns:
      - {header: In ACC, metric: accuracy, published: ACC, labels: {train: iemocap, test: iemocap}}
      - {header: Cross ACC, metric: accuracy, published: ACC,
         labels: {train: iemocap, test: msp-podcast}}
    figures: true
    figure_baseline: {model: cnn14}
  - name: plain
    label: Table 1b
    title: "the same numbers without significance"
    experiment: tri2022/exp
    rows: [model]
    axes: {model: [cnn14, sfcnn14]}
    columns:
      - {header: Cross ACC, metric: accuracy, published: ACC,
         labels: {train: iemocap, test: msp-podcast}}
    published: {table: seeds, model: "{model}", test: "{test}", stratum: "", metric: "{published}"}
  - name: best
    label: Table 3
    title: "the seed best on validation"
    experiment: tri2022/exp
    aggregate: seeds
    select: best
    rows: [model]
    axes: {model: [cnn14, sfcnn14, mfcnn14]}
    columns:
      - {header: In ACC, metric: accuracy, published: ACC, labels: {train: iemocap, test: iemocap}}
  - name: strata
    label: Table 7
    title: "per scenario"
    experiment: tri2022/exp
    rows: [model]
    group_by: stratum
    axes: {model: [cnn14], stratum: [scripted, improvised]}
    display: {scripted: Scripted (S), improvised: Improvised (I)}
    columns:
      - {header: ACC, metric: accuracy, published: ACC, labels: {train: iemocap, test: iemocap}}
  - name: residuals
    label: Table 4
    title: "residual t-tests per dialogue act"
    experiment: tri2022/dims
    class_set: cross-dims
    select: best
    annotations: [dialogue_act]
    rows: [dialogue_act]
    axes: {dialogue_act: [q, s, b]}
    headers: {dialogue_act: Act}
    columns:
      - {header: CNN14 p, metric: residual_p, kind: number, labels: {model: cnn14}}
      - {header: CNN14 mean, metric: residual_mean, kind: number, labels: {model: cnn14}}
      - {header: BERT p, metric: residual_p, kind: number, labels: {model: bert}}
    published: null
  - name: bestdims
    label: Table 6
    title: "the seed best on validation MSE"
    experiment: tri2022/dims
    class_set: cross-dims
    aggregate: seeds
    select: best
    rows: [model]
    axes: {model: [mfcnn14]}
    columns:
      - {header: CCC, metric: ccc, kind: number}
    published: null
"""

PUBLISHED_CSV = """\
table,model,test,stratum,metric,mean,std,mark,note
seeds,lit,iemocap,,ACC,61.0,1.5,,
seeds,cnn14,iemocap,,ACC,55.0,1.0,,
seeds,sfcnn14,iemocap,,ACC,70.0,2.0,*†,
seeds,cnn14,msp-podcast,,ACC,50.0,,,printed garbled
strata,cnn14,iemocap,scripted,ACC,60.0,,,
"""

# Correct predictions (of N_TEST) per (fold 0, fold 1) of each seed: accuracy = count / 20.
CORRECT = {
    "in-cnn": [(10, 12), (13, 17), (13, 13)],     # per seed .55, .75, .65
    "in-sf": [(18, 19), (19, 19), (18, 18)],      # .925, .95, .90: clearly above in-cnn
    "in-mf": [(15, 15), (17, 17)],
    "x-cnn": [(10, 10), (12, 12), (11, 11)],      # .50, .60, .55
    "x-sf": [(12, 10), (11, 11), (10, 12)],       # .55 each: the same mean as x-cnn
}
# The validation selection (metric, per seed the value of each fold).
SELECTION = {
    "in-cnn": ("accuracy", [(0.7, 0.7), (0.6, 0.6), (0.9, 0.6)]),   # best: seed 2 (0.75)
    "in-sf": ("loss", [(0.5, 0.5), (0.3, 0.4), (0.9, 0.9)]),        # best: seed 1 (lowest)
    "in-mf": ("val_loss", [(0.5, 0.5), (0.6, 0.6)]),               # best: seed 0 (lowest)
    "x-cnn": ("accuracy", [(0.5, 0.5)] * 3),
    "x-sf": ("accuracy", [(0.5, 0.5)] * 3),
}
ACTS = ["q", "s", "b"]
BIAS = {"q": 0.5, "s": 0.0, "b": -0.2}   # residual mean per act


def run_block(experiment, cell, labels, fold, seed, *, dataset="iemocap", class_set="cross4",
              targets=("classes",), stand_ins=None):
    """The run block the runner writes."""
    return {"experiment": experiment, "paper": PAPER, "cell": cell, "labels": labels,
            "model": "mlp", "task": "supervised", "dataset": dataset, "test_dataset": dataset,
            "class_set": class_set, "protocol": "loso10", "scenario": "mixed",
            "targets": list(targets), "inputs": {"audio": "vec"}, "fold": fold, "seed": seed,
            "fold_name": f"Ses0{fold + 1}F", "stand_ins": dict(stand_ins or {}),
            "transcripts": {}}


def _run_dir(root, run):
    return (root / run["experiment"] / run["dataset"] / run["cell"]
            / f"fold{run['fold']:02d}-seed{run['seed']}")


def _save(root, run, report, selection, ids, y_true, scores, columns, regression):
    directory = _run_dir(root, run)
    directory.mkdir(parents=True)
    write_predictions(directory / "predictions.csv", ids, y_true, scores, columns, regression)
    write_predictions(directory / VALIDATION_PREDICTIONS, ids[:4], y_true[:4], scores[:4],
                      columns, regression)
    record = {"run": run, **report, "selection": selection, "params": 10,
              "train_seconds": 1.0}
    (directory / "metrics.json").write_text(json.dumps(record, default=float))
    return {**record, "run_dir": directory}


def class_run(root, cell, labels, fold, seed, n_correct, selection, rng, *,
              experiment="tri2022/exp", dataset="iemocap", stand_ins=None, strata=False):
    """A classification run with exactly ``n_correct`` of N_TEST right (accuracy known)."""
    y_true = np.arange(N_TEST) % len(CLASSES)
    wrong = rng.permutation(N_TEST)[:N_TEST - n_correct]
    pred = y_true.copy()
    pred[wrong] = (y_true[wrong] + 1) % len(CLASSES)
    prob = np.full((N_TEST, len(CLASSES)), 0.1)
    prob[np.arange(N_TEST), pred] = 0.7
    report = classification_report(y_true, prob, CLASSES)
    if strata:   # the first half scripted, the second improvised
        halves = {"scripted": np.arange(N_TEST) < N_TEST // 2}
        halves["improvised"] = ~halves["scripted"]
        report["strata"] = {"scenario": {v: classification_report(y_true[m], prob[m], CLASSES)
                                         for v, m in halves.items()}}
    ids = [f"u{fold}_{i}" for i in range(N_TEST)]
    run = run_block(experiment, cell, labels, fold, seed, dataset=dataset, stand_ins=stand_ins)
    metric, value = selection
    return _save(root, run, report, {"epoch": 2, "metric": metric, "value": value}, ids,
                 y_true, prob, CLASSES, False)


def regression_run(root, cell, labels, fold, seed, selection, rng, n=30):
    """A single-target (arousal) regression run; utterance i has act ACTS[i % 3] and a
    residual of BIAS[act] + noise."""
    ids = [f"r{fold}_{i}" for i in range(n)]
    y_true = rng.normal(3.0, 1.0, size=(n, 1))
    bias = np.array([[BIAS[ACTS[i % 3]]] for i in range(n)])
    y_pred = y_true - bias - rng.normal(0.0, 0.3, size=(n, 1))
    run = run_block("tri2022/dims", cell, labels, fold, seed, class_set="cross-dims",
                    targets=("arousal",))
    metric, value = selection
    return _save(root, run, regression_report(y_true, y_pred, ["arousal"]),
                 {"epoch": 1, "metric": metric, "value": value}, ids, y_true, y_pred,
                 ["arousal"], True)


MODELS = {"cnn": "cnn14", "sf": "sfcnn14", "mf": "mfcnn14"}
# the labels of exp.yaml's cells: in-* test on iemocap, x-* on msp-podcast
LABELS = {cell: {"model": MODELS[cell.split("-")[1]], "train": "iemocap",
                 "test": "iemocap" if cell.startswith("in-") else "msp-podcast"}
          for cell in ("in-cnn", "in-sf", "in-mf", "x-cnn", "x-sf", "x-mf")}
DIMS_LABELS = {"r-cnn": {"model": "cnn14", "task": "arousal"},
               "r-bert": {"model": "bert", "task": "arousal"},
               "r-mf": {"model": "mfcnn14", "task": "arousal"}}


@pytest.fixture(scope="module")
def fabricated(tmp_path_factory):
    """The tri2022 experiments folder and its runs (see CORRECT and SELECTION)."""
    base = tmp_path_factory.mktemp("tri")
    experiments, root = base / "experiments", base / "runs"
    (experiments / PAPER).mkdir(parents=True)
    (experiments / PAPER / "exp.yaml").write_text(EXPERIMENT_YAML)
    (experiments / PAPER / "dims.yaml").write_text(DIMS_YAML)
    (experiments / PAPER / "tables.yaml").write_text(TABLES_YAML)
    (experiments / PAPER / "published.csv").write_text(PUBLISHED_CSV, encoding="utf-8")
    rng = np.random.default_rng(7)
    runs = {}
    for cell, seeds in CORRECT.items():
        metric, values = SELECTION[cell]
        for seed, (counts, vals) in enumerate(zip(seeds, values)):
            for fold, (n_correct, value) in enumerate(zip(counts, vals)):
                runs.setdefault(cell, []).append(class_run(
                    root, cell, LABELS[cell], fold, seed, n_correct, (metric, value), rng,
                    strata=cell == "in-cnn"))
    # a demo run (ser-train --stand-in iemocap=demo): its own table, never in the real one
    runs["demo"] = [class_run(root, "in-cnn", LABELS["in-cnn"], 0, 0, 4, ("accuracy", 0.5),
                              rng, dataset="demo", stand_ins={"iemocap": "demo"})]
    # regression runs: r-cnn one seed; r-bert two seeds (seed 1 best on validation CCC);
    # r-mf two seeds selected on validation MSE (seed 0 the lower, so the better)
    for fold in range(2):
        runs.setdefault("r-cnn", []).append(regression_run(
            root, "r-cnn", DIMS_LABELS["r-cnn"], fold, 0, ("ccc", 0.5), rng))
        for seed, value in ((0, 0.3), (1, 0.6)):
            runs.setdefault("r-bert", []).append(regression_run(
                root, "r-bert", DIMS_LABELS["r-bert"], fold, seed, ("ccc", value), rng))
        for seed, value in ((0, 0.2), (1, 0.4)):
            runs.setdefault("r-mf", []).append(regression_run(
                root, "r-mf", DIMS_LABELS["r-mf"], fold, seed, ("mse", value), rng))
    # annotations of the regression test utterances; the last three of each fold have none
    acts = base / "acts.csv"
    pd.DataFrame([{"utt_id": f"r{fold}_{i}", "act": ACTS[i % 3]}
                  for fold in range(2) for i in range(27)]).to_csv(acts, index=False)
    return {"experiments": experiments, "root": root, "runs": runs, "acts": acts,
            "base": base}


@pytest.fixture(scope="module")
def report(fabricated):
    """write_report without annotations."""
    out = fabricated["base"] / "tables"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = write_report(fabricated["root"], out, fabricated["experiments"])
    return out, summary


@pytest.fixture(scope="module")
def annotated(fabricated):
    """ser-report --annotations dialogue_act=acts.csv (through the CLI's main)."""
    out = fabricated["base"] / "tables_annotated"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["--runs", str(fabricated["root"]), "--out", str(out), "--experiments",
                     str(fabricated["experiments"]), "--annotations",
                     f"dialogue_act={fabricated['acts']}"])
    assert code == 0
    return out


def _csv(out, table, dataset="all"):
    frame = pd.read_csv(out / f"{PAPER}_{table}_{dataset}.csv")
    text = [c for c in frame.columns if c not in NUMBERS]
    frame[text] = frame[text].astype(object).fillna("").astype(str)
    return frame


NUMBERS = ("n", "n_folds", "ours_mean", "ours_std", "paper_mean", "paper_std", "diff")


def _entry(frame, cell=None, column=None, **where):
    mask = np.ones(len(frame), dtype=bool)
    if cell is not None:
        mask &= frame["cell"] == cell
    if column is not None:
        mask &= frame["column"] == column
    for key, value in where.items():
        mask &= frame[key] == value
    hits = frame[mask]
    assert len(hits) == 1, (cell, column, where, hits)
    return hits.iloc[0]


def _accuracy(record):
    return record["metrics"]["accuracy"]


def _per_seed(records, value=_accuracy):
    """Per seed the mean over folds (in seed order)."""
    seeds = sorted({r["run"]["seed"] for r in records})
    return np.array([np.mean([value(r) for r in records if r["run"]["seed"] == s])
                     for s in seeds])


def _md_row(markdown, *labels):
    prefix = "| " + " | ".join(labels) + " |"
    rows = [line for line in markdown.splitlines() if line.startswith(prefix)]
    assert rows, f"no row {labels}"
    return [c.strip() for c in rows[0].strip("|").split("|")]


# --- aggregate: seeds ---------------------------------------------------------------------------

def test_seeds_aggregate_is_the_mean_and_std_over_per_seed_fold_means(fabricated, report):
    out, _ = report
    runs = fabricated["runs"]["in-cnn"]
    per_seed = _per_seed(runs)
    np.testing.assert_allclose(per_seed, [0.55, 0.75, 0.65])   # by hand: (10+12)/40, ...
    entry = _entry(_csv(out, "seeds"), "in-cnn", "In ACC")
    assert entry["ours_mean"] == pytest.approx(65.0)
    assert entry["ours_std"] == pytest.approx(10.0)            # sample std of .55 .75 .65
    assert entry["n"] == 3 and entry["n_folds"] == 2
    # over all six runs the std would differ: the aggregate really is per seed
    every_run = np.array([_accuracy(r) for r in runs]) * 100
    assert every_run.std(ddof=1) != pytest.approx(10.0)
    md = (out / f"{PAPER}_seeds_all.md").read_text()
    assert _md_row(md, "CNN14")[1] == "65.00 ± 10.00"
    assert "over the seeds (each seed: the mean over its folds)" in md


def test_plain_table_aggregates_over_every_run(fabricated, report):
    out, _ = report
    values = np.array([_accuracy(r) for r in fabricated["runs"]["x-sf"]]) * 100
    entry = _entry(_csv(out, "plain"), "x-sf")
    assert entry["n"] == 6
    assert entry["ours_mean"] == pytest.approx(values.mean())
    assert entry["ours_std"] == pytest.approx(values.std(ddof=1))


# --- select: best -------------------------------------------------------------------------------

def test_select_best_shows_only_the_seed_best_on_mean_validation(fabricated, report):
    out, _ = report
    frame = _csv(out, "best")
    # in-cnn: mean validation accuracy per seed .70, .60, .75 -> seed 2 (not seed 1, the best
    # on test)
    cnn = _entry(frame, "in-cnn")
    assert cnn["ours_mean"] == pytest.approx(65.0) and cnn["n"] == 1
    # in-sf: selected on the validation loss, lower is better: .50, .35, .90 -> seed 1
    sf = _entry(frame, "in-sf")
    assert sf["ours_mean"] == pytest.approx(95.0) and sf["n"] == 1
    # in-mf: "val_loss" (a late fusion's val_ prefix) is lower-is-better too: .5, .6 -> seed 0
    assert _entry(frame, "in-mf")["ours_mean"] == pytest.approx(75.0)
    md = (out / f"{PAPER}_best_all.md").read_text()
    assert "- in-cnn: seed 2 (accuracy 0.750 of 3 seed(s))" in md
    assert "- in-sf: seed 1 (loss 0.350 of 3 seed(s))" in md
    assert "- in-mf: seed 0 (val_loss 0.500 of 2 seed(s))" in md


def test_select_best_on_validation_mse_takes_the_lowest(fabricated, report):
    out, _ = report
    # r-mf: validation MSE seed 0 .2, seed 1 .4 -> seed 0 is the better one
    expected = _per_seed([r for r in fabricated["runs"]["r-mf"] if r["run"]["seed"] == 0],
                         lambda r: r["metrics"]["ccc"])[0]
    entry = _entry(_csv(out, "bestdims"), "r-mf")
    assert entry["ours_mean"] == pytest.approx(expected)


# --- significance -------------------------------------------------------------------------------

def test_significance_marks_follow_scipy_ttest_over_the_seeds(fabricated, report):
    out, _ = report
    runs, frame = fabricated["runs"], _csv(out, "seeds")
    p_in = stats.ttest_ind(_per_seed(runs["in-sf"]), _per_seed(runs["in-cnn"])).pvalue
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # x-sf's seeds are all .55: scipy warns, p is fine
        p_x = stats.ttest_ind(_per_seed(runs["x-sf"]), _per_seed(runs["x-cnn"])).pvalue
    assert p_in < 0.02 and p_x > 0.5          # the fixed numbers are clearly on either side
    inside = _entry(frame, "in-sf", "In ACC")
    cross = _entry(frame, "x-sf", "Cross ACC")
    assert inside["ours_marks"] == "*" and inside["p_values"] == f"* p={p_in:.3g} vs in-cnn"
    assert cross["ours_marks"] == "" and cross["p_values"] == f"* p={p_x:.3g} vs x-cnn"
    # only the positions in "where" are tested; the baseline is not tested against itself
    assert _entry(frame, "in-mf", "In ACC")["p_values"] == ""
    assert _entry(frame, "in-cnn", "In ACC")["p_values"] == ""
    md = (out / f"{PAPER}_seeds_all.md").read_text()
    assert _md_row(md, "SFCNN14")[1] == "92.50 ± 2.50*"
    assert _md_row(md, "SFCNN14")[4] == "55.00 ± 0.00"    # no mark
    assert "Marks (*) are computed" in md


def test_published_marks_and_the_note_marker(report):
    out, _ = report
    seeds = (out / f"{PAPER}_seeds_all.md").read_text()
    # the printed marks of published.csv's mark column follow the paper's number
    assert _md_row(seeds, "SFCNN14")[2] == "70.00 ± 2.00*†"
    assert _entry(_csv(out, "seeds"), "in-sf", "In ACC")["paper_marks"] == "*†"
    # a table that computes marks flags a noted published cell with ‡ (its † is a mark) ...
    assert _md_row(seeds, "CNN14")[5] == "50.00‡"
    assert "Notes on the published numbers (‡):" in seeds and "- printed garbled" in seeds
    # ... one without significance keeps †
    plain = (out / f"{PAPER}_plain_all.md").read_text()
    assert _md_row(plain, "CNN14")[2] == "50.00†"
    assert "Notes on the published numbers (†):" in plain


def test_literature_rows_show_only_published_numbers(report):
    out, _ = report
    frame = _csv(out, "seeds")
    lit = frame[frame["row_model"] == "Lit [1]"]
    assert len(lit) == 2 and set(lit["cell"]) == {""}
    assert set(lit["ours_text"]) == {""} and set(lit["command"]) == {""}
    assert list(lit["paper_text"]) == ["61.00 ± 1.50", "—"]
    md = (out / f"{PAPER}_seeds_all.md").read_text()
    assert _md_row(md, "Lit [1]")[1:4] == ["", "61.00 ± 1.50", "—"]
    assert "lit" not in [c for line in md.splitlines() if line.startswith("ser-train")
                         for c in line.split()]
    # the one cell without runs (x-mf) is the only command
    commands = [line for line in md.splitlines() if line.startswith("ser-train")]
    assert commands == ["ser-train --experiment tri2022/exp --cells x-mf"]


def test_column_labels_select_cells(fabricated, report):
    out, _ = report
    frame = _csv(out, "seeds")
    row = frame[frame["row_model"] == "CNN14"]
    assert list(row["cell"]) == ["in-cnn", "x-cnn"]
    cross = _entry(frame, "x-cnn", "Cross ACC")
    assert cross["ours_mean"] == pytest.approx(100 * _per_seed(fabricated["runs"]["x-cnn"])
                                               .mean())
    assert cross["ours_mean"] == pytest.approx(55.0)


# --- stratum axis -------------------------------------------------------------------------------

def test_stratum_axis_reads_the_strata_blocks(fabricated, report):
    out, _ = report
    frame = _csv(out, "strata")
    runs = fabricated["runs"]["in-cnn"]
    for stratum, group in (("scripted", "Scripted (S)"), ("improvised", "Improvised (I)")):
        values = np.array([r["strata"]["scenario"][stratum]["metrics"]["accuracy"]
                           for r in runs]) * 100
        entry = _entry(frame, "in-cnn", stratum=stratum)
        assert entry["group"] == group and entry["n"] == len(runs) == 6
        assert entry["ours_mean"] == pytest.approx(values.mean())
        assert entry["ours_std"] == pytest.approx(values.std(ddof=1))
    # the strata differ from the whole test set, and the published row is found by stratum
    whole = np.mean([_accuracy(r) for r in runs]) * 100
    assert _entry(frame, "in-cnn", stratum="scripted")["ours_mean"] != pytest.approx(whole)
    assert _entry(frame, "in-cnn", stratum="scripted")["paper_mean"] == 60.0
    assert _entry(frame, "in-cnn", stratum="improvised")["paper_text"] == "—"


# --- residual tests ---------------------------------------------------------------------------

def _pooled_residuals(records, acts, act):
    frames = [pd.read_csv(r["run_dir"] / "predictions.csv") for r in records]
    preds = pd.concat(frames, ignore_index=True)
    residual = preds["true_arousal"] - preds["pred_arousal"]
    return residual[preds["utt_id"].map(lambda u: acts.get(u) == act)].to_numpy(float)


def test_residual_tests_equal_scipy_ttest_1samp_of_the_pooled_residuals(fabricated, annotated):
    acts = read_annotations({"dialogue_act": fabricated["acts"]})["dialogue_act"]
    frame = _csv(annotated, "residuals")
    records = fabricated["runs"]["r-cnn"]
    for act in ACTS:
        residuals = _pooled_residuals(records, acts, act)
        assert len(residuals) == 2 * 9     # 9 annotated utterances per act and fold
        test = stats.ttest_1samp(residuals, 0.0)
        p = _entry(frame, "r-cnn", "CNN14 p", row_act=act.upper())
        mean = _entry(frame, "r-cnn", "CNN14 mean", row_act=act.upper())
        assert p["ours_mean"] == pytest.approx(test.pvalue, rel=1e-9, abs=1e-300)
        assert mean["ours_mean"] == pytest.approx(residuals.mean())
        assert p["n_folds"] == 2
    assert _entry(frame, "r-cnn", "CNN14 p", row_act="Q")["ours_mean"] < 1e-3
    md = (annotated / f"{PAPER}_residuals_all.md").read_text()
    assert "dialogue_act: 6 of 60 test utterances of r-cnn have no annotation" in md
    assert (annotated / "figures" / f"{PAPER}_residuals_all_residuals_all.png").is_file()


def test_residual_tests_of_a_select_best_table_pool_only_the_best_seed(fabricated, annotated):
    acts = read_annotations({"dialogue_act": fabricated["acts"]})["dialogue_act"]
    best = [r for r in fabricated["runs"]["r-bert"] if r["run"]["seed"] == 1]  # val CCC .6
    residuals = _pooled_residuals(best, acts, "q")
    entry = _entry(_csv(annotated, "residuals"), "r-bert", "BERT p", row_act="Q")
    assert entry["ours_mean"] == pytest.approx(stats.ttest_1samp(residuals, 0.0).pvalue,
                                               rel=1e-9)


def test_without_annotations_the_table_says_how_to_give_them(report):
    out, _ = report
    md = (out / f"{PAPER}_residuals_all.md").read_text()
    assert ("Note: dialogue_act: not given; ser-report --annotations dialogue_act=CSV "
            "(columns utt_id and the value) fills the residual tests") in md
    frame = _csv(out, "residuals")
    assert set(frame["ours_text"]) == {"—"}
    assert not (out / "figures" / f"{PAPER}_residuals_all_residuals_all.png").exists()


@pytest.mark.parametrize("text, says", [
    ("id,act\nu1,q\n", "expected the columns utt_id and one value column"),
    ("utt_id,act\nu1,q\nu2,s\nu1,b\n", "utt_id 'u1' appears twice"),
])
def test_bad_annotation_files_are_one_line_errors_naming_the_file(tmp_path, text, says):
    path = tmp_path / "acts.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=says) as err:
        read_annotations({"dialogue_act": path})
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "dialogue_act" in message


def test_ser_report_refuses_a_bad_annotation_file(fabricated, tmp_path, capsys):
    path = tmp_path / "acts.csv"
    path.write_text("utt_id,act\nu1,q\nu1,s\n")
    code = main(["--runs", str(fabricated["root"]), "--out", str(tmp_path / "out"),
                 "--experiments", str(fabricated["experiments"]),
                 "--annotations", f"dialogue_act={path}"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("ser-report: error: --annotations dialogue_act=")
    assert str(path) in err and err.count("\n") == 1
    assert main(["--annotations", "dialogue_act", "--runs", str(tmp_path)]) == 2
    assert "expected NAME=CSV" in capsys.readouterr().err


def test_read_annotations_reads_utt_id_and_the_value(tmp_path):
    path = tmp_path / "acts.csv"
    path.write_text("utt_id,act\nu1, q\nu2,s\n")
    assert read_annotations({"dialogue_act": path}) == {"dialogue_act": {"u1": "q", "u2": "s"}}
    assert read_annotations(None) == {}


# --- per_dataset false and stand-ins ------------------------------------------------------------

def test_stand_in_runs_get_their_own_table_and_commands(fabricated, report):
    out, summary = report
    assert (out / f"{PAPER}_seeds_demo.md").is_file()
    demo = _csv(out, "seeds", "demo")
    entry = _entry(demo, "in-cnn", "In ACC")
    assert entry["ours_mean"] == pytest.approx(20.0) and entry["n_folds"] == 1
    assert entry["command"] == ""
    assert (_entry(demo, "in-sf", "In ACC")["command"]
            == "ser-train --experiment tri2022/exp --stand-in iemocap=demo --cells in-sf")
    md = (out / f"{PAPER}_seeds_demo.md").read_text()
    assert "Stand-in corpora (iemocap=demo)" in md and "NOT comparable" in md
    assert "ser-train --experiment tri2022/exp --stand-in iemocap=demo --cells x-cnn" in md
    # the real table holds none of the demo run, and its commands have no --stand-in
    real = _csv(out, "seeds")
    assert _entry(real, "in-cnn", "In ACC")["ours_mean"] == pytest.approx(65.0)
    assert "--stand-in" not in (out / f"{PAPER}_seeds_all.md").read_text()
    datasets = {r.dataset for r in summary.results if r.spec.name == "seeds"}
    assert datasets == {"all", "demo"}


def test_figures_of_a_table_over_every_corpus_follow_its_stand_in_group(fabricated,
                                                                          monkeypatch,
                                                                          tmp_path):
    from ser_keras.reporting import report as report_module

    drawn = {}

    def spy(run_dirs, path, *args, **kwargs):
        drawn[path.name] = sorted(str(d) for d in run_dirs)
        return path

    monkeypatch.setattr(report_module, "confusion_figure", spy)
    monkeypatch.setattr(report_module, "roc_figure", lambda *a, **k: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_report(fabricated["root"], tmp_path, fabricated["experiments"])
    real = sorted(str(r["run_dir"]) for r in fabricated["runs"]["in-cnn"])
    assert drawn[f"{PAPER}_seeds_all_in-cnn_confusion.png"] == real


# --- figures ------------------------------------------------------------------------------------

def test_count_change_against_a_hand_computation():
    from ser_keras.reporting.figures import count_change

    counts = np.array([[5, 1, 0], [0, 4, 2], [3, 3, 3]])
    baseline = np.array([[4, 2, 0], [1, 0, 4], [3, 6, 1]])
    change = count_change(counts, baseline)
    expected = np.array([[25.0, -50.0, np.nan], [-100.0, np.nan, -50.0], [0.0, -50.0, 200.0]])
    np.testing.assert_allclose(change, expected, equal_nan=True)


def test_figure_baseline_writes_a_confusion_png_with_the_count_change(fabricated, report,
                                                                      monkeypatch, tmp_path):
    from ser_keras.reporting import figures

    out, summary = report
    seeds = next(r for r in summary.results if r.spec.name == "seeds" and r.dataset == "all")
    assert dict(seeds.spec.figure_baselines) == {"in-sf": "in-cnn", "in-mf": "in-cnn",
                                                 "x-sf": "x-cnn", "x-mf": "x-cnn"}
    png = out / "figures" / f"{PAPER}_seeds_all_in-sf_confusion.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the counts compared: the cell's and the baseline's confusion matrices per run (summed
    # over runs, divided by their number: cells with more finished runs compare fairly)
    runs = fabricated["runs"]
    counts = sum(np.array(r["confusion_matrix"]) for r in runs["in-sf"]) / len(runs["in-sf"])
    base = sum(np.array(r["confusion_matrix"]) for r in runs["in-cnn"]) / len(runs["in-cnn"])
    seen = []
    real = figures.count_change
    monkeypatch.setattr(figures, "count_change",
                        lambda a, b: seen.append((a.copy(), b.copy())) or real(a, b))
    path = figures.confusion_figure([r["run_dir"] for r in runs["in-sf"]], tmp_path / "c.png",
                                    "t", [r["run_dir"] for r in runs["in-cnn"]], "in-cnn")
    assert path.is_file()
    (a, b), = seen
    np.testing.assert_allclose(a, counts)
    np.testing.assert_allclose(b, base)
    with np.errstate(divide="ignore", invalid="ignore"):
        hand = np.where(base > 0, 100.0 * (counts - base) / np.where(base > 0, base, 1), np.nan)
    np.testing.assert_allclose(real(a, b), hand, equal_nan=True)


def test_residual_figure_writes_a_png(tmp_path):
    from ser_keras.reporting.figures import residual_figure

    rng = np.random.default_rng(0)
    frames = {name: pd.DataFrame({"value": rng.choice(ACTS, 40),
                                  "residual": rng.normal(size=40)})
              for name in ("CNN14", "BERT")}
    path = residual_figure(frames, ACTS, tmp_path / "figs" / "r.png", "residuals")
    assert path.is_file() and path.read_bytes()[:4] == b"\x89PNG"
    empty = {"CNN14": pd.DataFrame(columns=["value", "residual"])}
    assert residual_figure(empty, ACTS, tmp_path / "none.png", "x") is None
    assert not (tmp_path / "none.png").exists()


# --- the shipped triantafyllopoulos2022 tables ----------------------------------------------

TRI_TABLES = [f"table{i}" for i in range(1, 9)]


def test_the_shipped_tables_yaml_loads():
    decls = load_tables(experiments_dir() / "triantafyllopoulos2022" / "tables.yaml")
    assert [d.name for d in decls] == TRI_TABLES
    by_name = {d.name: d for d in decls}
    assert by_name["table1"].aggregate == "seeds" and by_name["table1"].significance
    assert by_name["table3"].select == "best" and by_name["table4"].annotations == [
        "dialogue_act"]
    assert by_name["table1"].figure_baseline == {"model": "cnn14"}


def test_ser_report_without_runs_writes_all_eight_tables(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    runs.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = write_report(runs, out, experiments_dir())
    stems = [s for s in summary.files if s.startswith("triantafyllopoulos2022_")]
    assert stems == [f"triantafyllopoulos2022_{t}_all" for t in TRI_TABLES]
    for stem in stems:
        for suffix in ("md", "csv", "tex"):
            assert (out / f"{stem}.{suffix}").is_file()
    t1 = (out / "triantafyllopoulos2022_table1_all.md").read_text()
    assert ("ser-train --experiment triantafyllopoulos2022/table1 "
            "--cells iemocap-iemocap-cnn14") in t1
    assert "--cells pepino" not in t1 and "59.10 ± 1.80" in t1
    assert "56.00 ± 1.30*†" in t1          # the printed marks
    t4 = (out / "triantafyllopoulos2022_table4_all.md").read_text()
    assert "ser-report --annotations dialogue_act=CSV" in t4


def test_a_demo_run_of_the_shipped_table1_gets_its_own_table(tmp_path):
    rng = np.random.default_rng(3)
    runs, out = tmp_path / "runs", tmp_path / "out"
    labels = {"model": "cnn14", "train": "iemocap", "test": "iemocap", "domain": "in",
              "task": "emotion"}
    stand_ins = {"iemocap": "demo", "msp-podcast": "demo-msp"}
    for seed in range(2):
        record = class_run(runs, "iemocap-iemocap-cnn14", labels, 0, seed, 10 + 4 * seed,
                           ("balanced_accuracy", 0.5), rng,
                           experiment="triantafyllopoulos2022/table1", dataset="demo",
                           stand_ins=stand_ins)
        metrics = json.loads((record["run_dir"] / "metrics.json").read_text())
        metrics["run"]["paper"] = "triantafyllopoulos2022"
        (record["run_dir"] / "metrics.json").write_text(json.dumps(metrics))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_report(runs, out, experiments_dir())
    md = (out / "triantafyllopoulos2022_table1_demo.md").read_text()
    assert _md_row(md, "CNN14")[7] == "60.00 ± 14.14"      # IEMOCAP→IEMOCAP: seeds .5, .7
    assert ("ser-train --experiment triantafyllopoulos2022/table1 --stand-in "
            "iemocap=demo,msp-podcast=demo-msp --cells msp-msp-cnn14") in md
    # only stand-in runs: no table over the paper's own corpora is written for them
    assert not (out / "triantafyllopoulos2022_table1_all.md").exists()


def _demo_table1_runs(runs, rng):
    """One demo run (--stand-in iemocap=demo,msp-podcast=demo-msp) of an IEMOCAP-trained and
    of an MSP-Podcast-trained cell of the shipped Table 1."""
    stand_ins = {"iemocap": "demo", "msp-podcast": "demo-msp"}
    for cell, dataset, corpus in (("iemocap-iemocap-cnn14", "demo", "iemocap"),
                                  ("msp-msp-cnn14", "demo-msp", "msp-podcast")):
        labels = {"model": "cnn14", "train": corpus, "test": corpus, "domain": "in",
                  "task": "emotion"}
        class_run(runs, cell, labels, 0, 0, 12, ("balanced_accuracy", 0.5), rng,
                  experiment="triantafyllopoulos2022/table1", dataset=dataset,
                  stand_ins=stand_ins)


def test_a_stand_in_table_has_figures_of_every_cell_with_runs(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    _demo_table1_runs(runs, np.random.default_rng(4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_report(runs, out, experiments_dir())
    frame = pd.read_csv(out / "triantafyllopoulos2022_table1_demo.csv")
    with_numbers = set(frame.loc[frame["ours_mean"].notna(), "cell"])
    assert with_numbers == {"iemocap-iemocap-cnn14", "msp-msp-cnn14"}
    # Fig. 3 shows the MSP-Podcast test set only (figure_where), for the best seed
    figures = out / "figures"
    assert (figures / "triantafyllopoulos2022_table1_demo_msp-msp-cnn14_confusion.png").is_file()
    assert not (figures / "triantafyllopoulos2022_table1_demo_iemocap-iemocap-cnn14_confusion"
                          ".png").exists()

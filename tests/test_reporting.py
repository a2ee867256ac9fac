"""ser-report: declared tables, the summary of every run, figures and index from fabricated run
folders; the published numbers.

The runs are fabricated in a temporary folder in the metrics.json schema the runner writes:
random predictions, their metrics computed with scikit-learn, so every number in a table can
be checked against numpy on the fabricated values. The tables come from the tables.yaml
declarations: ho2020's shipped one, and a made-up paper written into a temporary experiments
folder (no code).
"""
import json
import re
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from ser_keras.cli.report import main
from ser_keras.config import experiments_dir
from ser_keras.errors import ConfigError
from ser_keras.reporting import load_published, load_runs, load_tables
from ser_keras.reporting.runs import find_run_dirs

IEMOCAP4 = ["neutral", "angry", "sad", "happy"]
IEMOCAP8 = ["neutral", "frustrated", "angry", "sad", "happy", "surprise", "excited", "fear"]
URDU4 = ["angry", "happy", "neutral", "sad"]
CLASS_SETS = {"iemocap4": IEMOCAP4, "iemocap8": IEMOCAP8, "urdu4": URDU4}
TARGETS = ["arousal", "valence", "dominance"]
# (experiment, dataset, class set, cell, folds): the ho2020 runs the fixture fabricates.
FABRICATED = [
    ("ho2020/table3", "demo", "iemocap4", "improvised-audio", range(10)),   # complete cell
    ("ho2020/table3", "demo", "iemocap4", "mixed-text", range(2)),          # n=2
    ("ho2020/table4", "demo", "iemocap8", "improvised-multimodal", range(3)),
    ("ho2020/table3", "iemocap", "iemocap4", "mixed-multimodal", range(2)),  # second dataset
]
# An ad-hoc run set (ser-train --model mlp ...) and a regression run set: in no paper table.
ADHOC = ("mlp-urdu4-speaker-kfold", "urdu", "urdu4", "", range(3))
REGRESSION = ("mlp-msp-avd", "msp-podcast", "", "", range(2))


def run_block(experiment, dataset, class_set, cell, fold, seed, labels=None, model="mmfa",
              paper=""):
    """The "run" block of metrics.json."""
    if labels is None and "-" in cell and experiment.startswith("ho2020/"):
        scenario, modality = cell.split("-")
        labels = {"scenario": scenario, "modality": modality}
    return {"experiment": experiment, "paper": paper or experiment.split("/")[0],
            "cell": cell, "labels": labels or {}, "model": model, "task": "supervised",
            "dataset": dataset, "test_dataset": dataset, "class_set": class_set,
            "protocol": "loso10", "scenario": (labels or {}).get("scenario", "mixed"),
            "targets": ["classes"], "inputs": {"audio": "mfcc39_smile"}, "fold": fold,
            "fold_name": f"Ses0{fold // 2 + 1}F", "seed": seed,
            "test_speaker": f"Ses0{fold // 2 + 1}F"}


def _write(root, run, record, predictions=None):
    run_dir = (root / run["experiment"] / run["dataset"] / (run["cell"] or "adhoc")
               / f"fold{run['fold']}_seed{run['seed']}")
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({"run": run, **record}, default=float))
    if predictions is not None:
        predictions.to_csv(run_dir / "predictions.csv", index=False)
    return {"run": run, **record}


def fabricate_run(root, experiment, dataset, class_set, cell, fold, seed, rng, n_test=40,
                  labels=None, model="mmfa"):
    """Write metrics.json + predictions.csv of one classification run; return its record."""
    classes = CLASS_SETS[class_set]
    k = len(classes)
    y_true = rng.permutation(np.resize(np.arange(k), n_test))  # every class present
    prob = rng.dirichlet(np.ones(k), size=n_test)
    prob[np.arange(n_test), y_true] += rng.uniform(0.0, 0.8, size=n_test)  # better than chance
    prob /= prob.sum(axis=1, keepdims=True)
    y_pred = prob.argmax(axis=1)
    labels_ = list(range(k))

    def prf(score, average, **kw):
        return score(y_true, y_pred, labels=labels_, average=average, zero_division=0, **kw)

    pp, pr, pf, ps = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels_, average=None, zero_division=0)
    roc = [float(skm.roc_auc_score(y_true == i, prob[:, i])) for i in range(k)]
    record = {
        "kind": "classification", "classes": classes, "n_test": n_test,
        "metrics": {
            "accuracy": skm.accuracy_score(y_true, y_pred),
            "balanced_accuracy": skm.balanced_accuracy_score(y_true, y_pred),
            "precision_weighted": prf(skm.precision_score, "weighted"),
            "recall_weighted": prf(skm.recall_score, "weighted"),
            "f1_weighted": prf(skm.f1_score, "weighted"),
            "fbeta_weighted": prf(skm.fbeta_score, "weighted", beta=0.5),
            "precision_macro": prf(skm.precision_score, "macro"),
            "recall_macro": prf(skm.recall_score, "macro"),
            "f1_macro": prf(skm.f1_score, "macro"),
            "roc_auc_macro": float(np.mean(roc)),
            "log_loss": skm.log_loss(y_true, prob, labels=labels_),
            **{f"{name}_thresholded": score(np.eye(k, dtype=int)[y_true],
                                            (prob > 0.5).astype(int), average="micro",
                                            zero_division=0)
               for name, score in (("precision", skm.precision_score),
                                   ("recall", skm.recall_score), ("f1", skm.f1_score))}},
        "per_class": {c: {"precision": pp[i], "recall": pr[i], "f1": pf[i],
                          "support": int(ps[i]), "roc_auc": roc[i]}
                      for i, c in enumerate(classes)},
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels_).tolist(),
        "selection": {"epoch": 3, "metric": "accuracy", "value": 0.6}, "params": 1234,
        "train_seconds": 1.0,
    }
    predictions = pd.DataFrame({"utt_id": [f"u{fold}_{i}" for i in range(n_test)],
                                "true": [classes[i] for i in y_true],
                                "predicted": [classes[i] for i in y_pred]})
    for i, c in enumerate(classes):
        predictions[f"prob_{c}"] = prob[:, i]
    run = run_block(experiment, dataset, class_set, cell, fold, seed, labels, model)
    return _write(root, run, record, predictions)


def fabricate_regression_run(root, experiment, dataset, fold, seed, rng, n_test=30, cell=""):
    """Write metrics.json of one arousal/valence/dominance regression run."""
    y = rng.uniform(1, 5, size=(n_test, 3))
    pred = y + rng.normal(0, 0.8, size=y.shape)

    def ccc(a, b):
        return 2 * np.cov(a, b, bias=True)[0, 1] / (a.var() + b.var() + (a.mean() - b.mean()) ** 2)

    per_target = {t: {"mse": skm.mean_squared_error(y[:, j], pred[:, j]),
                      "mae": skm.mean_absolute_error(y[:, j], pred[:, j]),
                      "ccc": ccc(y[:, j], pred[:, j]),
                      "pearson_r": np.corrcoef(y[:, j], pred[:, j])[0, 1]}
                  for j, t in enumerate(TARGETS)}
    record = {"kind": "regression", "targets": TARGETS, "n_test": n_test,
              "metrics": {m: float(np.mean([per_target[t][m] for t in TARGETS]))
                          for m in ("mse", "mae", "ccc", "pearson_r")},
              "per_target": per_target}
    run = run_block(experiment, dataset, None, cell, fold, seed, model="mlp")
    run["targets"] = TARGETS
    return _write(root, run, record)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    # build: fabricated runs, one run of table3 with the wrong class set, an ad-hoc run set
    # and a regression run set
    root = tmp_path_factory.mktemp("runs")
    out = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    fabricated = {}
    for experiment, dataset, class_set, cell, folds in FABRICATED:
        fabricated[(experiment, dataset, cell)] = [
            fabricate_run(root, experiment, dataset, class_set, cell, f, 0, rng) for f in folds]
    fabricate_run(root / "odd", "ho2020/table3", "demo", "iemocap8", "mixed-audio", 0, 0, rng)
    experiment, dataset, class_set, cell, folds = ADHOC
    fabricated["adhoc"] = [fabricate_run(root, experiment, dataset, class_set, cell, f, s, rng,
                                         model="mlp") for f in folds for s in (0, 1)]
    experiment, dataset, _, _, folds = REGRESSION
    fabricated["regression"] = [fabricate_regression_run(root, experiment, dataset, f, 0, rng)
                                for f in folds]
    # act
    assert main(["--runs", str(root), "--out", str(out)]) == 0
    return {"out": out, "runs": fabricated}


def _values(report, key, pick):
    runs = report["runs"][key]
    return np.array([pick(m) for m in runs], float)


def _md_row(markdown, *labels):
    prefix = "| " + " | ".join(labels) + " |"
    rows = [line for line in markdown.splitlines() if line.startswith(prefix)]
    assert rows, f"no row {labels}"
    return [c.strip() for c in rows[0].strip("|").split("|")]


def _mean_std(values, decimals=2):
    return f"{values.mean():.{decimals}f} ± {values.std(ddof=1):.{decimals}f}"


IMPROVISED_AUDIO = ("ho2020/table3", "demo", "improvised-audio")


def test_markdown_mean_std_published_and_difference(report):
    # build
    acc = 100 * _values(report, IMPROVISED_AUDIO, lambda m: m["metrics"]["accuracy"])
    fbeta = 100 * _values(report, IMPROVISED_AUDIO, lambda m: m["metrics"]["fbeta_weighted"])
    # act
    md = (report["out"] / "ho2020_table3_demo.md").read_text()
    row = _md_row(md, "Improvised", "Audio")
    # assert: ACC ours / paper / Δ, F_beta ours / paper / Δ (sample std, ddof=1)
    assert row[2] == _mean_std(acc)
    assert row[3] == "66.19 ± 2.36"
    assert row[4] == f"{acc.mean() - 66.19:+.2f}"
    assert row[14] == _mean_std(fbeta)
    assert row[15] == "66.85 ± 2.52"
    assert "ddof=1" in md and "demo" in md.splitlines()[0]
    assert "NOT comparable" in md


def test_csv_numbers_equal_numpy(report):
    # build
    bal = 100 * _values(report, IMPROVISED_AUDIO, lambda m: m["metrics"]["balanced_accuracy"])
    # act
    csv = pd.read_csv(report["out"] / "ho2020_table3_demo.csv")
    hit = csv[(csv["cell"] == "improvised-audio") & (csv["metric"] == "balanced_accuracy")]
    # assert
    assert len(csv) == 6 * 5 and len(hit) == 1
    hit = hit.iloc[0]
    assert hit["ours_mean"] == pytest.approx(bal.mean())
    assert hit["ours_std"] == pytest.approx(bal.std(ddof=1))
    assert hit["n"] == 10 and hit["n_folds"] == 10
    assert (hit["paper_mean"], hit["paper_std"]) == (65.87, 2.95)
    assert hit["diff"] == pytest.approx(bal.mean() - 65.87)


def test_per_class_table_and_weighted_average(report):
    # build
    sad_pre = 100 * _values(report, IMPROVISED_AUDIO,
                            lambda m: m["per_class"]["sad"]["precision"])
    support = _values(report, IMPROVISED_AUDIO, lambda m: m["per_class"]["sad"]["support"])
    w_f1 = 100 * _values(report, IMPROVISED_AUDIO, lambda m: m["metrics"]["f1_weighted"])
    # act
    md = (report["out"] / "ho2020_table8_demo.md").read_text()
    audio = md.split("## Audio")[1].split("## Text")[0]
    sad = _md_row(audio, "Improvised", "Sad")
    weighted = _md_row(audio, "Improvised", "Weighted Average")
    # assert: PRE, then Support (a count, no decimals), then the weighted F1
    assert sad[2:5] == [_mean_std(sad_pre), "63.45 ± 9.59", f"{sad_pre.mean() - 63.45:+.2f}"]
    assert sad[11].startswith(f"{support.mean():.0f}") and sad[12] == "108†"
    assert weighted[8] == _mean_std(w_f1)
    assert weighted[9] == "66.02 ± 2.56"


def test_incomplete_cells_show_n(report):
    md = (report["out"] / "ho2020_table3_demo.md").read_text()
    assert _md_row(md, "Mixed", "Text")[2].endswith("(n=2)")
    assert "(n=" not in _md_row(md, "Improvised", "Audio")[2]


def test_missing_cells_name_the_command(report):
    # act
    t3_demo = (report["out"] / "ho2020_table3_demo.md").read_text()
    t3_iemocap = (report["out"] / "ho2020_table3_iemocap.md").read_text()
    t9_demo = (report["out"] / "ho2020_table9_demo.md").read_text()
    # assert: a dash in the cell, the command under the table; 8/9 point at 3/4
    assert _md_row(t3_demo, "Improvised", "Text")[2] == "—"
    assert "ser-train --experiment ho2020/table3 --dataset demo --cells improvised-text" in t3_demo
    assert "ser-train --experiment ho2020/table3 --cells improvised-audio" in t3_iemocap
    assert "ser-train --experiment ho2020/table4 --dataset demo --cells mixed-audio" in t9_demo
    assert "--cells improvised-audio\n" not in t3_demo  # this cell has runs


def test_wrong_class_set_is_left_out(report):
    md = (report["out"] / "ho2020_table3_demo.md").read_text()
    assert "1 run(s) of ho2020/table3 left out: class set is not iemocap4" in md
    assert _md_row(md, "Mixed", "Audio")[2] == "—"


def test_latex_is_balanced(report):
    for name in ("ho2020_table3_demo.tex", "ho2020_table9_demo.tex"):
        # act
        tex = (report["out"] / name).read_text()
        body = tex.split(r"\midrule", 1)[1].split(r"\bottomrule")[0]
        rows = [line for line in body.splitlines() if line.endswith(r"\\")]
        ncols = len(re.search(r"\\begin\{tabular\}\{(l*r*)\}", tex).group(1))
        # assert
        unescaped = re.sub(r"\\[{}]", "", tex)
        assert unescaped.count("{") == unescaped.count("}")
        assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == 1
        assert tex.count("$") % 2 == 0
        assert rows and all(r.count("&") == ncols - 1 for r in rows)


def _is_png(path):
    data = path.read_bytes()
    return len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_are_png(report):
    figures = report["out"] / "figures"
    expected = [f"ho2020_table3_demo_{cell}_{kind}.png"
                for cell in ("improvised-audio", "mixed-text") for kind in ("confusion", "roc")]
    expected += ["ho2020_table4_demo_improvised-multimodal_roc.png",
                 "ho2020_table3_iemocap_mixed-multimodal_confusion.png"]
    for name in expected:
        assert _is_png(figures / name), name
    assert not list(figures.glob("ho2020_table8_*"))  # 8 and 9 share 3 and 4's runs


def test_one_table_per_dataset_and_index(report):
    out = report["out"]
    names = sorted(p.name for p in out.glob("ho2020_table*.md"))
    # one per dataset with runs; a table over several corpora (6, 7, 10) once per corpus,
    # with or without runs; the count tables (1, 2) per corpus too
    run_tables = ["ho2020_table3_demo.md", "ho2020_table3_iemocap.md",
                  "ho2020_table4_demo.md", "ho2020_table5_demo.md", "ho2020_table5_iemocap.md",
                  "ho2020_table8_demo.md", "ho2020_table8_iemocap.md", "ho2020_table9_demo.md",
                  *(f"ho2020_table{t}_{d}.md" for t in (6, 7, 10) for d in ("meld", "mosei"))]
    counts = ["ho2020_table1_iemocap.md", "ho2020_table2_meld.md", "ho2020_table2_mosei.md",
              "ho2020_table2_exactly_one_mosei.md", "ho2020_table2_presence_mosei.md"]
    assert names == sorted(run_tables + counts)
    index = (out / "README.md").read_text()
    for name in run_tables:
        for suffix in ("md", "csv", "tex"):
            assert f"]({name[:-3]}.{suffix})" in index
    for name in counts:
        for suffix in ("md", "csv"):
            assert f"]({name[:-3]}.{suffix})" in index
    assert "](runs_summary.md)" in index and "](runs_summary.csv)" in index


def test_adhoc_run_in_summary_with_confusion_figure(report):
    # build: 3 folds x 2 seeds of an experiment no table declares
    acc = 100 * _values(report, "adhoc", lambda m: m["metrics"]["accuracy"])
    f1m = 100 * _values(report, "adhoc", lambda m: m["metrics"]["f1_macro"])
    # act
    md = (report["out"] / "runs_summary.md").read_text()
    csv = pd.read_csv(report["out"] / "runs_summary.csv")
    row = _md_row(md, "mlp-urdu4-speaker-kfold")
    hit = csv[csv["experiment"] == "mlp-urdu4-speaker-kfold"].iloc[0]
    # assert: keys, Runs 6, Folds 3, Seeds "0, 1", accuracy, ..., f1_macro, the figure link
    assert row[1:7] == ["mlp", "urdu", "urdu", "urdu4", "loso10", "—"]
    assert row[7:10] == ["6", "3", "0, 1"]
    assert row[10] == _mean_std(acc) and row[12] == _mean_std(f1m)
    assert hit["accuracy_mean"] == pytest.approx(acc.mean())
    assert hit["accuracy_std"] == pytest.approx(acc.std(ddof=1))
    link = re.search(r"\[png\]\((figures/[^)]+)\)", row[-1]).group(1)
    assert _is_png(report["out"] / link) and hit["confusion"] == link
    index = (report["out"] / "README.md").read_text()
    assert f"- mlp-urdu4-speaker-kfold, mlp, urdu: [confusion]({link})" in index
    # every classification run set of the ho2020 runs is listed too (the wrong class set apart)
    assert len(csv[csv["experiment"].str.startswith("ho2020/")]) == len(FABRICATED) + 1


def test_regression_run_summary_shows_ccc(report):
    # build
    ccc = _values(report, "regression", lambda m: m["metrics"]["ccc"])
    mse = _values(report, "regression", lambda m: m["metrics"]["mse"])
    # act
    md = (report["out"] / "runs_summary.md").read_text()
    regression = md.split("## Regression")[1]
    row = _md_row(regression, "mlp-msp-avd")
    header = _md_row(regression, "Experiment")
    csv = pd.read_csv(report["out"] / "runs_summary.csv")
    hit = csv[csv["experiment"] == "mlp-msp-avd"].iloc[0]
    # assert: CCC and MSE as they are (3 decimals), no confusion figure
    assert header[10:] == ["ccc", "pearson_r", "mse", "mae"]
    assert row[10] == _mean_std(ccc, 3) and row[12] == _mean_std(mse, 3)
    assert hit["kind"] == "regression" and hit["ccc_mean"] == pytest.approx(ccc.mean())
    assert pd.isna(hit["confusion"]) and pd.isna(hit["accuracy_mean"])


# --- a paper declared in YAML only -----------------------------------------------------------

TOY_TABLES = """\
    paper: toy2025
    defaults:
      dataset: corpusa
      expected_folds: 2
      axes:
        corpus: [corpusa, corpusb]
        threshold: ["0.25", "0.30"]
      display: {corpusa: Corpus A, corpusb: Corpus B}
      published: {table: "{table}", corpus: "{corpus}", threshold: "{threshold}",
                  class: "{class}", metric: "{published}"}
    tables:
      - name: table2
        label: Table II
        title: neutral correction by threshold
        experiment: toy2025/table2
        class_set: iemocap4
        per_dataset: false            # the cells train on their corpus
        rows: [corpus, threshold]
        columns:
          - {header: UA, metric: uar}
          - {header: WA, metric: wa}
          - {header: F1, metric: f1_macro}
      - name: table3
        label: Table III
        title: per-class F1 by threshold
        experiment: toy2025/table2
        class_set: iemocap4
        per_dataset: false
        rows: [corpus, class]
        weighted_average: true
        group_by: threshold
        columns:
          - {header: F1, metric: f1}
      - name: table4
        label: Table IV
        title: dimensions
        experiment: toy2025/avd
        rows: [target]
        axes: {target: [arousal, valence]}  # a key of a table replaces the default wholly
        published: {table: "{table}", corpus: "", threshold: "", class: "{target}",
                    metric: "{published}"}
        columns:
          - {header: CCC, metric: ccc, kind: number}
"""
TOY_CELLS = """\
    name: toy2025/table2
    class_set: iemocap4
    cells:
      - {id: a25, model: mlp, labels: {corpus: corpusa, threshold: "0.25"}}
      - {id: a30, model: mlp, labels: {corpus: corpusa, threshold: "0.30"}}
      - {id: b25, model: mlp, labels: {corpus: corpusb, threshold: "0.25"}}
      - {id: b30, model: mlp, labels: {corpus: corpusb, threshold: "0.30"}}
"""
TOY_PUBLISHED = """\
table,corpus,threshold,class,metric,mean,std,note
table2,corpusa,0.25,,UA,61.5,1.5,
table2,corpusb,0.30,,WA,55.0,,
table3,corpusa,0.25,weighted_average,F1,60.0,2.0,
table4,,,valence,CCC,0.5,0.1,
"""


def _toy_experiments(tmp_path, tables=TOY_TABLES):
    exp = tmp_path / "experiments" / "toy2025"
    exp.mkdir(parents=True)
    (exp / "tables.yaml").write_text(textwrap.dedent(tables))
    (exp / "table2.yaml").write_text(textwrap.dedent(TOY_CELLS))
    (exp / "published.csv").write_text(TOY_PUBLISHED)
    return exp.parent


def test_declared_tables_of_a_paper_without_code(tmp_path):
    # build: a paper that exists only as YAML; runs of three of its four cells, each on the
    # corpus its label names
    experiments = _toy_experiments(tmp_path)
    rng = np.random.default_rng(2)
    runs = {}
    for cell, corpus, threshold in (("a25", "corpusa", "0.25"), ("a30", "corpusa", "0.30"),
                                    ("b30", "corpusb", "0.30")):
        labels = {"corpus": corpus, "threshold": threshold}
        runs[cell] = [fabricate_run(tmp_path / "runs", "toy2025/table2", corpus, "iemocap4",
                                    cell, f, 0, rng, labels=labels, model="mlp")
                      for f in range(2)]
    avd = [fabricate_regression_run(tmp_path / "runs", "toy2025/avd", "corpusa", f, 0, rng,
                                    cell="avd") for f in range(2)]
    # act
    code = main(["--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                 "--experiments", str(experiments)])
    md = (tmp_path / "out" / "toy2025_table2_all.md").read_text()
    per_class = (tmp_path / "out" / "toy2025_table3_all.md").read_text()
    per_target = (tmp_path / "out" / "toy2025_table4_corpusa.md").read_text()
    # assert: rows Corpus x Threshold, UA = balanced accuracy, the published number and Δ
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("*.md")) == [
        "README.md", "runs_summary.md", "toy2025_table2_all.md", "toy2025_table3_all.md",
        "toy2025_table4_corpusa.md"]
    ua = 100 * np.array([m["metrics"]["balanced_accuracy"] for m in runs["a25"]])
    wa = 100 * np.array([m["metrics"]["accuracy"] for m in runs["b30"]])
    assert _md_row(md, "Corpus A", "0.25")[2:5] == [
        _mean_std(ua), "61.50 ± 1.50", f"{ua.mean() - 61.5:+.2f}"]
    assert _md_row(md, "Corpus B", "0.30")[5:8] == [
        _mean_std(wa), "55.00", f"{wa.mean() - 55.0:+.2f}"]
    assert _md_row(md, "Corpus B", "0.25")[2] == "—"
    assert "ser-train --experiment toy2025/table2 --cells b25\n" in md  # the YAML's cell id
    # the class axis: the class set's classes + weighted average, a column group per threshold
    f1 = 100 * np.array([m["per_class"]["sad"]["f1"] for m in runs["a30"]])
    w_f1 = 100 * np.array([m["metrics"]["f1_weighted"] for m in runs["a25"]])
    group_25, group_30 = per_class.split("## 0.25")[1].split("## 0.30")
    assert _md_row(group_30, "Corpus A", "Sad")[2] == _mean_std(f1)
    assert _md_row(group_25, "Corpus A", "Weighted average")[2:4] == [
        _mean_std(w_f1), "60.00 ± 2.00"]
    # the target axis: a regression metric per target, as it is (three decimals)
    valence = np.array([m["per_target"]["valence"]["ccc"] for m in avd])
    assert _md_row(per_target, "Valence")[1:4] == [
        f"{_mean_std(valence, 3)}", "0.500 ± 0.100", f"{valence.mean() - 0.5:+.3f}"]


@pytest.mark.parametrize("old, new, where, says", [
    ("{header: WA, metric: wa}", "{header: WA, metric: wha}", "tables[0] (table2).columns[1]",
     "unknown metric 'wha'"),
    ("{header: CCC, metric: ccc,", "{header: CCC, metric: accuracy,",
     "tables[2] (table4).columns[0]", "'accuracy' is a classification metric"),
])
def test_bad_metric_in_tables_yaml_is_a_one_line_error(tmp_path, capsys, old, new, where, says):
    # build
    experiments = _toy_experiments(tmp_path, TOY_TABLES.replace(old, new))
    path = experiments / "toy2025" / "tables.yaml"
    # act
    with pytest.raises(ConfigError) as caught:
        load_tables(path)
    code = main(["--runs", str(tmp_path / "none"), "--out", str(tmp_path / "out"),
                 "--experiments", str(experiments)])
    printed = capsys.readouterr().err
    # assert
    message = str(caught.value)
    assert str(path) in message and says in message and "\n" not in message
    assert f"{where}.metric" in message
    assert code == 2 and printed.count("\n") == 1 and str(path) in printed


def test_no_runs_writes_empty_tables(tmp_path, capsys):
    # act
    code = main(["--runs", str(tmp_path / "none"), "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    md = (tmp_path / "out" / "ho2020_table4_iemocap.md").read_text()
    t9 = (tmp_path / "out" / "ho2020_table9_iemocap.md").read_text()
    # assert
    assert code == 0 and "No runs found" in printed and "missing: improvised-audio" in printed
    assert _md_row(md, "Mixed", "Multimodal")[2:5] == ["—", "56.70 ± 4.10", "—"]
    audio = t9.split("## Text")[0]  # garbled cells: paper values as read, std left empty
    assert _md_row(audio, "Mixed", "Frustrated")[3:7:3] == ["40.03 ± 9.44†", "38.71†"]
    assert "printed '38.71%', std missing" in t9
    assert md.count("ser-train --experiment ho2020/table4 --cells") == 6
    # Tables 3, 4, 5, 8, 9 (md, csv, tex) and the count table 1 (md, csv)
    assert len(list((tmp_path / "out").glob("ho2020_table*_iemocap.*"))) == 5 * 3 + 2
    assert "No runs found." in (tmp_path / "out" / "runs_summary.md").read_text()


def test_broken_run_is_skipped_with_a_warning(tmp_path):
    # build
    rng = np.random.default_rng(1)
    fabricate_run(tmp_path, "ho2020/table3", "demo", "iemocap4", "mixed-audio", 0, 0, rng)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metrics.json").write_text("{not json")
    # act
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = load_runs(tmp_path)
    # assert
    assert len(find_run_dirs(tmp_path)) == 2
    assert runs["run_dir"].nunique() == 1
    assert any("broken" in str(w.message) for w in caught)
    assert set(runs.loc[runs["class"] == "weighted_average", "metric"]) == {
        "precision", "recall", "f1", "support"}
    assert set(runs["label_scenario"]) == {"mixed"} and set(runs["label_modality"]) == {"audio"}


def test_published_csv():
    # act
    every = load_published(experiments_dir() / "ho2020" / "published.csv")
    # every printed number of Tables 1, 2, 5, 6, 7, 10 too, each row one key
    assert every.groupby("table").size().to_dict() == {
        "table1": 40, "table2": 42, "table5": 27, "table6": 30, "table7": 40,
        "table10": 180, "table3": 30, "table4": 30, "table8": 120, "table9": 216}
    keys = ["table", "scenario", "modality", "class", "metric", "dataset", "split", "model"]
    assert not every.duplicated(keys).any()
    assert every["mean"].notna().all()
    row = every.set_index(keys)["mean"]
    # the paper's disagreements are kept as printed (issue 12), each with its note
    assert row["table6", "", "text", "", "ACC_B", "mosei", "", ""] == 93.87
    assert row["table10", "", "multimodal", "fear", "F1", "meld", "", ""] == 38.46
    assert every.loc[(every["table"] == "table10") & (every["class"] == "fear")
                     & (every["modality"] == "multimodal") & (every["metric"] == "F1")
                     & (every["dataset"] == "meld"), "note"].str.contains("28.57").all()
    assert set(every.loc[every["table"] == "table6", "dataset"]) == {"meld", "mosei"}
    pub = every[every["table"].isin(["table3", "table4", "table8", "table9"])]
    counts = pub.groupby("table").size().to_dict()
    # assert: 2 scenarios x 3 modalities x (5 metrics | classes+1 x 4 metrics)
    assert counts == {"table3": 30, "table4": 30, "table8": 2 * 3 * 5 * 4,
                      "table9": 2 * 3 * 9 * 4}
    assert not pub.duplicated(["table", "scenario", "modality", "class", "metric"]).any()
    assert set(pub["scenario"]) == {"improvised", "mixed"}
    assert set(pub["modality"]) == {"audio", "text", "multimodal"}
    assert set(pub.loc[pub["table"] == "table8", "class"]) == {*IEMOCAP4, "weighted_average"}
    assert set(pub.loc[pub["table"] == "table9", "class"]) == {*IEMOCAP8, "weighted_average"}
    assert pub["mean"].notna().all()
    headline = pub[(pub["table"] == "table3") & (pub["modality"] == "multimodal")
                   & (pub["metric"] == "ACC")].set_index("scenario")
    assert headline.loc["improvised", ["mean", "std"]].tolist() == [76.0, 3.68]
    assert headline.loc["mixed", ["mean", "std"]].tolist() == [73.23, 4.07]
    garbled = pub[(pub["table"] == "table9") & (pub["scenario"] == "mixed")
                  & (pub["modality"] == "audio") & (pub["class"] == "frustrated")]
    assert garbled.set_index("metric").loc["PRE", "mean"] == 40.03
    assert garbled["std"].isna().sum() == 3  # REC, F1 and the support have none
    assert (garbled.set_index("metric").loc[["PRE", "REC", "F1"], "note"] != "").all()


def test_ho2020_tables_yaml_declares_the_papers_layouts():
    # act
    decls = {d.name: d for d in load_tables(experiments_dir() / "ho2020" / "tables.yaml")}
    # assert: Tables 3, 4 summary rows, 8, 9 per class with a group per modality
    assert list(decls) == ["table3", "table4", "table8", "table9", "table6", "table10",
                           "table7", "table5"]
    assert [c.metric for c in decls["table3"].columns] == [
        "accuracy", "balanced_accuracy", "precision_weighted", "recall_weighted",
        "fbeta_weighted"]
    assert decls["table9"].rows == ["scenario", "class"] and decls["table9"].weighted_average
    assert decls["table9"].group_by == "modality" and decls["table9"].class_set == "iemocap8"
    assert {n: d.expected_folds for n, d in decls.items()} == {
        "table3": 10, "table4": 10, "table8": 10, "table9": 10, "table5": 10, "table6": 1,
        "table7": 1, "table10": 1}
    # MELD and CMU-MOSEI: one declaration over both, or (Table 10) one per corpus
    assert decls["table6"].datasets == ["meld", "mosei"]
    assert decls["table6"].class_sets == {"mosei": "mosei6"}
    every = load_tables(experiments_dir() / "ho2020" / "tables.yaml")
    assert [(d.datasets, d.class_set) for d in every if d.name == "table10"] == [
        (["meld"], "meld7"), (["mosei"], "mosei6")]

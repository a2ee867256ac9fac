"""ser-report: tables, figures and index from fabricated run folders; the published numbers.

The runs are fabricated in a temporary folder: random predictions, their metrics computed with
scikit-learn exactly as metrics.json describes them, so every number in a table can be checked
against numpy on the fabricated values.
"""
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from ser_keras.cli.report import main
from ser_keras.config import experiments_dir
from ser_keras.reporting import load_published, load_runs
from ser_keras.reporting.runs import find_run_dirs

IEMOCAP4 = ["neutral", "angry", "sad", "happy"]
IEMOCAP8 = ["neutral", "frustrated", "angry", "sad", "happy", "surprise", "excited", "fear"]
# (experiment, dataset, class set, cell, folds): what the fixture fabricates.
FABRICATED = [
    ("ho2020/table3", "demo", "iemocap4", "improvised-audio", range(10)),   # complete cell
    ("ho2020/table3", "demo", "iemocap4", "mixed-text", range(2)),          # n=2
    ("ho2020/table4", "demo", "iemocap8", "improvised-multimodal", range(3)),
    ("ho2020/table3", "iemocap", "iemocap4", "mixed-multimodal", range(2)),  # second dataset
]


def fabricate_run(root, experiment, dataset, class_set, cell, fold, seed, rng, n_test=40):
    """Write metrics.json + predictions.csv of one run; return its metrics dict."""
    classes = IEMOCAP4 if class_set == "iemocap4" else IEMOCAP8
    k = len(classes)
    y_true = rng.permutation(np.resize(np.arange(k), n_test))  # every class present
    prob = rng.dirichlet(np.ones(k), size=n_test)
    prob[np.arange(n_test), y_true] += rng.uniform(0.0, 0.8, size=n_test)  # better than chance
    prob /= prob.sum(axis=1, keepdims=True)
    y_pred = prob.argmax(axis=1)
    labels = list(range(k))
    p, r, fb, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="weighted", beta=0.5, zero_division=0)
    pp, pr, pf, ps = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0)
    roc = {c: float(skm.roc_auc_score(y_true == i, prob[:, i])) for i, c in enumerate(classes)}
    roc["macro"] = float(np.mean(list(roc.values())))
    scenario, modality = cell.split("-")
    metrics = {
        "run": {"experiment": experiment, "paper": "ho2020", "table": experiment.split("/")[1],
                "cell": cell, "scenario": scenario, "modality": modality, "model": "mmfa",
                "dataset": dataset, "class_set": class_set, "protocol": "loso10",
                "fold": fold, "seed": seed, "test_speaker": f"Ses0{fold // 2 + 1}F"},
        "classes": classes, "n_test": n_test,
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y_true, y_pred),
        "precision": p, "recall": r,
        "f1": skm.f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0),
        "fbeta": fb, "fbeta_beta": 0.5,
        "per_class": {c: {"precision": pp[i], "recall": pr[i], "f1": pf[i],
                          "support": int(ps[i])} for i, c in enumerate(classes)},
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "roc_auc": roc,
    }
    run_dir = root / experiment / dataset / cell / f"fold{fold}_seed{seed}"
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, default=float))
    predictions = pd.DataFrame({"utt_id": [f"u{fold}_{i}" for i in range(n_test)],
                                "true": [classes[i] for i in y_true],
                                "predicted": [classes[i] for i in y_pred]})
    for i, c in enumerate(classes):
        predictions[f"prob_{c}"] = prob[:, i]
    predictions.to_csv(run_dir / "predictions.csv", index=False)
    return metrics


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    # build: fabricated runs, plus one run of table3 with the wrong class set
    root = tmp_path_factory.mktemp("runs")
    out = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    fabricated = {}
    for experiment, dataset, class_set, cell, folds in FABRICATED:
        fabricated[(experiment, dataset, cell)] = [
            fabricate_run(root, experiment, dataset, class_set, cell, f, 0, rng) for f in folds]
    fabricate_run(root / "odd", "ho2020/table3", "demo", "iemocap8", "mixed-audio", 0, 0, rng)
    # act
    assert main(["--runs", str(root), "--out", str(out)]) == 0
    return {"out": out, "runs": fabricated}


def _values(report, experiment, dataset, cell, pick):
    return np.array([pick(m) for m in report["runs"][(experiment, dataset, cell)]], float)


def _md_row(markdown, *labels):
    prefix = "| " + " | ".join(labels) + " |"
    rows = [line for line in markdown.splitlines() if line.startswith(prefix)]
    assert rows, f"no row {labels}"
    return [c.strip() for c in rows[0].strip("|").split("|")]


def test_markdown_mean_std_published_and_difference(report):
    # build
    acc = 100 * _values(report, "ho2020/table3", "demo", "improvised-audio",
                        lambda m: m["accuracy"])
    fbeta = 100 * _values(report, "ho2020/table3", "demo", "improvised-audio",
                          lambda m: m["fbeta"])
    # act
    md = (report["out"] / "ho2020_table3_demo.md").read_text()
    row = _md_row(md, "Improvised", "Audio")
    # assert: ACC ours / paper / Δ, F_beta ours / paper / Δ (sample std, ddof=1)
    assert row[2] == f"{acc.mean():.2f} ± {acc.std(ddof=1):.2f}"
    assert row[3] == "66.19 ± 2.36"
    assert row[4] == f"{acc.mean() - 66.19:+.2f}"
    assert row[14] == f"{fbeta.mean():.2f} ± {fbeta.std(ddof=1):.2f}"
    assert row[15] == "66.85 ± 2.52"
    assert "ddof=1" in md and "demo" in md.splitlines()[0]
    assert "NOT comparable" in md


def test_csv_numbers_equal_numpy(report):
    # build
    bal = 100 * _values(report, "ho2020/table3", "demo", "improvised-audio",
                        lambda m: m["balanced_accuracy"])
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
    key = ("ho2020/table3", "demo", "improvised-audio")
    sad_pre = 100 * _values(report, *key, lambda m: m["per_class"]["sad"]["precision"])
    support = _values(report, *key, lambda m: m["per_class"]["sad"]["support"])
    w_f1 = 100 * _values(report, *key, lambda m: m["f1"])
    # act
    md = (report["out"] / "ho2020_table8_demo.md").read_text()
    audio = md.split("## Audio")[1].split("## Text")[0]
    sad = _md_row(audio, "Improvised", "Sad")
    weighted = _md_row(audio, "Improvised", "Weighted Average")
    # assert: PRE, then Support (a count, no decimals), then the weighted F1
    assert sad[2:5] == [f"{sad_pre.mean():.2f} ± {sad_pre.std(ddof=1):.2f}", "63.45 ± 9.59",
                        f"{sad_pre.mean() - 63.45:+.2f}"]
    assert sad[11].startswith(f"{support.mean():.0f}") and sad[12] == "108†"
    assert weighted[8] == f"{w_f1.mean():.2f} ± {w_f1.std(ddof=1):.2f}"
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


def test_figures_are_png(report):
    figures = report["out"] / "figures"
    expected = [f"ho2020_table3_demo_{cell}_{kind}.png"
                for cell in ("improvised-audio", "mixed-text") for kind in ("confusion", "roc")]
    expected += ["ho2020_table4_demo_improvised-multimodal_roc.png",
                 "ho2020_table3_iemocap_mixed-multimodal_confusion.png"]
    for name in expected:
        data = (figures / name).read_bytes()
        assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(figures.glob("ho2020_table8_*"))  # 8 and 9 share 3 and 4's runs


def test_one_table_per_dataset_and_index(report):
    out = report["out"]
    names = sorted(p.name for p in out.glob("*.md") if p.name != "README.md")
    assert names == ["ho2020_table3_demo.md", "ho2020_table3_iemocap.md",
                     "ho2020_table4_demo.md", "ho2020_table8_demo.md",
                     "ho2020_table8_iemocap.md", "ho2020_table9_demo.md"]
    index = (out / "README.md").read_text()
    for name in names:
        for suffix in ("md", "csv", "tex"):
            assert f"]({name[:-3]}.{suffix})" in index


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
    assert len(list((tmp_path / "out").glob("ho2020_table*_iemocap.*"))) == 4 * 3


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


def test_published_csv():
    # act
    pub = load_published(experiments_dir() / "ho2020" / "published.csv")
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

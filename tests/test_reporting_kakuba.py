"""kakuba2023's declared Tables 4-8 build from fabricated runs: per-class recall columns,
a stand-in corpus with its own class set, one table over every corpus with only the rows that
have a cell, and the published numbers beside ours."""
import numpy as np
import pytest

import test_reporting
from test_reporting import _md_row, fabricate_run
from ser_keras.cli.report import main

EMODB4 = ["happy", "sad", "angry", "neutral"]
SEVEN = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
CREMAD6 = ["angry", "disgust", "fear", "happy", "sad", "neutral"]


@pytest.fixture(scope="module")
def report(tmp_path_factory, monkeypatch_module):
    root, out = tmp_path_factory.mktemp("runs"), tmp_path_factory.mktemp("tables")
    monkeypatch_module.setattr(test_reporting, "CLASS_SETS", {
        **test_reporting.CLASS_SETS, "emodb4": EMODB4, "ravdess7-merged": SEVEN, "cremad6": CREMAD6})
    rng = np.random.default_rng(1)
    runs = {
        "mfcc": [fabricate_run(root, "kakuba2023/table4", "emodb", "emodb4", "mfcc", 0, 0, rng,
                               labels={"input": "mfcc", "protocol": "stratified"},
                               model="feature-cnn")],
        "mfcc-si": [fabricate_run(root, "kakuba2023/table4", "emodb", "emodb4", "mfcc-si", f,
                                  0, rng, labels={"input": "mfcc",
                                                  "protocol": "speaker_independent"},
                                  model="feature-cnn") for f in range(5)],
        "urdu": [fabricate_run(root, "kakuba2023/table4", "urdu", "urdu4", "mfcc", 0, 0, rng,
                               labels={"input": "mfcc", "protocol": "stratified"},
                               model="feature-cnn")],
        "ravdess": [fabricate_run(root, "kakuba2023/table7", "ravdess", "ravdess7-merged", "ravdess",
                                  0, 0, rng, labels={"corpus": "ravdess",
                                                     "protocol": "stratified"},
                                  model="dbmer-multistream")],
        "crema-d": [fabricate_run(root, "kakuba2023/table7", "crema-d", "cremad6", "crema-d",
                                  0, 0, rng, labels={"corpus": "crema_d",
                                                     "protocol": "stratified"},
                                  model="dbmer-multistream")],
    }
    assert main(["--runs", str(root), "--out", str(out)]) == 0
    return out, runs


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _pct(value):
    return f"{100 * value:.2f}"


def test_table4_accuracy_f1_and_per_class_recall_beside_the_paper(report):
    out, runs = report
    md = (out / "kakuba2023_table4_emodb.md").read_text()
    record = runs["mfcc"][0]
    row = _md_row(md, "MFCCs", "Stratified random split")
    # A ours / paper / Δ, F1 ours / paper / Δ, CH ours / paper / Δ, ...
    assert row[2] == _pct(record["metrics"]["accuracy"]) and row[3] == "85.46"
    assert row[5] == _pct(record["metrics"]["f1_weighted"]) and row[6] == "85.71"
    assert row[8] == _pct(record["per_class"]["happy"]["recall"]) and row[9] == "40.00"
    assert row[17] == _pct(record["per_class"]["neutral"]["recall"]) and row[18] == "87.00"
    si = _md_row(md, "MFCCs", "Speaker-independent")
    recalls = np.array([100 * r["per_class"]["sad"]["recall"] for r in runs["mfcc-si"]])
    assert si[11] == f"{recalls.mean():.2f} ± {recalls.std(ddof=1):.2f}"
    assert _md_row(md, "Raw signal", "Stratified random split")[2] == "—"


def test_a_stand_in_corpus_fills_its_own_table_with_its_class_set(report):
    out, runs = report
    md = (out / "kakuba2023_table4_urdu.md").read_text()
    assert "the paper's numbers are on emodb" in md
    row = _md_row(md, "MFCCs", "Stratified random split")
    assert row[2] == _pct(runs["urdu"][0]["metrics"]["accuracy"])
    assert "left out" not in md
    assert ("ser-train --experiment kakuba2023/table4 --dataset urdu --set class_set=urdu4 "
            "--cells raw\n") in md


def test_table7_and_8_one_table_over_the_corpora_with_only_declared_rows(report):
    out, runs = report
    md = (out / "kakuba2023_table7_all.md").read_text()
    rav = _md_row(md, "RAVDESS", "Stratified random split")
    record = runs["ravdess"][0]
    # the paper's UA is accuracy, its WA balanced accuracy (its own numbers say so)
    assert rav[2] == _pct(record["metrics"]["accuracy"]) and rav[3] == "93.65"
    assert rav[5] == _pct(record["metrics"]["balanced_accuracy"]) and rav[6] == "94.03"
    assert rav[11] == _pct(record["metrics"]["recall_thresholded"]) and rav[12] == "93.65"
    assert rav[17] == f"{record['metrics']['log_loss']:.4f}" and rav[18] == "0.3390"
    assert _md_row(md, "CREMA-D", "Stratified random split")[3] == "84.00"
    assert "| CREMA-D | Augmented before the split (leaky) |" not in md   # sparse: no cell
    _md_row(md, "RAVDESS", "Augmented before the split (leaky)")        # a declared cell
    t8 = (out / "kakuba2023_table8_all.md").read_text()
    crema = _md_row(t8, "CREMA-D", "Stratified random split")
    # CP (surprise): CREMA-D has none, ours and the paper's are empty
    assert crema[17:19] == ["—", "—"]
    assert crema[2] == _pct(runs["crema-d"][0]["per_class"]["angry"]["recall"])
    assert crema[3] == "87.00"


@pytest.mark.parametrize("old, new, says", [
    ("for_class: surprise}", "for_class: suprise}", "'suprise' is no class of any class set"),
    ("for_class: happy}", "for_class: joy}", "'joy' is no class of iemocap4"),
    ("class_sets: {urdu: urdu4}", "class_sets: {urdu: urdu5}", "unknown class set 'urdu5'"),
])
def test_a_misspelt_class_in_kakubas_tables_is_a_one_line_error(tmp_path, old, new, says):
    from ser_keras.config import experiments_dir
    from ser_keras.errors import ConfigError
    from ser_keras.reporting import load_tables

    text = (experiments_dir() / "kakuba2023" / "tables.yaml").read_text()
    assert old in text
    path = tmp_path / "tables.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=says):
        load_tables(path)

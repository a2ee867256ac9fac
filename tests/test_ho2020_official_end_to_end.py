"""ho2020 Tables 6, 7, 10 (and Figs. 6, 7) as a user runs them, on generated MELD- and
CMU-MOSEI-shaped releases: ser-prepare (openSMILE MFCCs + a tiny random BERT), ser-train
--experiment ho2020/table6 --dataset meld / mosei and ho2020/table7 (the six emotion
intensities), ser-report writing the tables beside the published numbers. The MAE and its
training-mean floor are checked against NumPy on the saved predictions."""
import json

import numpy as np
import pandas as pd
import pytest

from data_prep import cli as prepare_cli
from mini_corpora_av import MOSEI_EMOTIONS, build_meld_clean, build_mosei_clean
from ser_keras import store
from ser_keras.cli.report import main as report_main
from ser_keras.cli.train import main as train_main

FAST = ["--epochs", "2", "--seeds", "0,1", "--set", "training.batch_size=8",
        "--set", "training.learning_rate=0.01"]


@pytest.fixture(scope="module")
def official_store(tmp_path_factory, tiny_bert):
    """One store holding both prepared miniatures."""
    src, data = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("store")
    for corpus, root in (("meld", build_meld_clean(src)), ("mosei", build_mosei_clean(src))):
        assert prepare_cli.main([corpus, str(root), "--out", str(data), "--for",
                                 "ho2020/table6", "--text-encoder", str(tiny_bert),
                                 "--workers", "1", "--quiet"]) == 0
    return data


def test_scores_on_a_corpus_without_them_fail_before_training(official_store, tmp_path,
                                                              capsys):
    code = train_main(["--experiment", "ho2020/table7", "--dataset", "meld", "--data",
                       str(official_store), "--runs", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "targets ['happy', 'sad', 'anger', 'surprise', 'disgust', 'fear']: " \
        "no manifest column or score of meld" in err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").rglob("*.json"))


@pytest.mark.slow
def test_tables_6_7_10_from_prepare_to_report(official_store, tmp_path):
    runs, tables = tmp_path / "runs", tmp_path / "tables"
    common = ["--data", str(official_store), "--runs", str(runs), *FAST]
    assert train_main(["--experiment", "ho2020/table6", "--dataset", "meld", *common]) == 0
    assert train_main(["--experiment", "ho2020/table6", "--dataset", "mosei", *common]) == 0
    assert train_main(["--experiment", "ho2020/table7", "--cells", "audio-scores,text-scores",
                       *common]) == 0

    # the official splits; the class set follows the dataset (table6.yaml's datasets:)
    meld = json.loads((runs / "ho2020/table6/meld/multimodal/fold00-seed0/metrics.json"
                       ).read_text())
    mosei = json.loads((runs / "ho2020/table6/mosei/multimodal/fold00-seed0/metrics.json"
                        ).read_text())
    assert (meld["run"]["class_set"], mosei["run"]["class_set"]) == ("meld7", "mosei6")
    assert meld["run"]["protocol"] == "official"
    folds = json.loads((runs / "ho2020/table6/meld/multimodal/fold00-seed0/folds.json"
                        ).read_text())
    assert (len(folds["train"]), len(folds["validation"]), len(folds["test"])) == (21, 14, 14)
    # the floor beside every run: always the training majority class (3 per class in train:
    # the first, neutral; 2 of the 14 test utterances)
    assert meld["train_majority"] == {"class": "neutral", "accuracy": pytest.approx(2 / 14),
                                      "train_share": pytest.approx(1 / 7)}

    # regression: six outputs, MAE = NumPy's on the saved predictions, the training-mean floor
    run = runs / "ho2020/table7/mosei/audio-scores/fold00-seed0"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["kind"] == "regression" and metrics["run"]["targets"] == list(MOSEI_EMOTIONS)
    preds = pd.read_csv(run / "predictions.csv")
    truth = preds[[f"true_{e}" for e in MOSEI_EMOTIONS]].to_numpy()
    guess = preds[[f"pred_{e}" for e in MOSEI_EMOTIONS]].to_numpy()
    assert metrics["metrics"]["mae"] == pytest.approx(np.abs(truth - guess).mean(), abs=1e-6)
    rows = {r["utt_id"]: r for r in store.read_manifest(store.manifest_path(official_store,
                                                                            "mosei"))}
    train = json.loads((run / "folds.json").read_text())["train"]
    scores = np.array([[store.parse_scores(rows[u]["scores"])[e] for e in MOSEI_EMOTIONS]
                       for u in train])
    floor = np.abs(truth - scores.mean(axis=0)).mean()
    assert metrics["train_mean"]["mae"] == pytest.approx(floor, abs=1e-6)
    # the test truths are the manifest's intensities, unrounded (thirds)
    assert truth[0].tolist() == pytest.approx(
        [store.parse_scores(rows[preds["utt_id"][0]]["scores"])[e] for e in MOSEI_EMOTIONS])

    assert report_main(["--runs", str(runs), "--out", str(tables),
                        "--data", str(official_store)]) == 0
    table6 = (tables / "ho2020_table6_meld.md").read_text()
    row = [c.strip() for c in next(line for line in table6.splitlines()
                                   if line.startswith("| Multimodal")).split("|")]
    assert row[2] != "—" and row[3] == "63.26"          # ours beside the paper's ACC
    mosei6 = (tables / "ho2020_table6_mosei.md").read_text()
    assert "| Text |" in mosei6 and "93.87†" in mosei6  # the printed ACC_B, with its note
    table10 = (tables / "ho2020_table10_mosei.md").read_text()
    assert "| Fear |" in table10 and "| Neutral |" not in table10   # MOSEI's own classes
    md7 = (tables / "ho2020_table7_mosei.md").read_text()
    assert "J. Williams et al. [45]" in md7 and "W. Jiao" not in md7   # MOSEI's literature
    line = next(x for x in md7.splitlines() if x.startswith("| Ours (this package) | Audio"))
    cells = [c.strip() for c in line.split("|")]
    assert cells[9] != "—" and cells[12] != "—"          # MAE and its floor, ours
    assert "ser-train --experiment ho2020/table7 --cells multimodal-scores" in md7   # not run
    for name in ("ho2020_fig6_meld_multimodal.png", "ho2020_fig7_mosei_audio.png"):
        assert (tables / "figures" / name).is_file()

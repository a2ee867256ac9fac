"""ho2020 Tables 5, 6, 7 and 10 from fabricated runs: one declaration over MELD and
CMU-MOSEI (each corpus its own published numbers and, for Table 10, its own classes), the
literature rows of each corpus only, our row beside the paper's, every published number in
its place (published.csv row by row), the floors (majority class, training mean) beside."""
import json

import numpy as np
import pandas as pd
import pytest

from ser_keras.config import experiments_dir
from ser_keras.data.classes import get_class_set
from ser_keras.evaluation import classification_report, regression_report
from ser_keras.reporting import write_report
from ser_keras.reporting.published import load_published
from ser_keras.training.runner import write_predictions

SCORES = ["happy", "sad", "anger", "surprise", "disgust", "fear"]
MODALITIES = ("audio", "text", "multimodal")
SEEDS = (0, 1)


def _write(root, run, report, ids, y, scores, columns, regression, extra):
    directory = (root / run["experiment"] / run["dataset"] / run["cell"]
                 / f"fold00-seed{run['seed']}")
    directory.mkdir(parents=True)
    write_predictions(directory / "predictions.csv", ids, y, scores, columns, regression)
    (directory / "metrics.json").write_text(json.dumps({"run": run, **report, **extra},
                                                       default=float))


def _run_block(experiment, dataset, class_set, cell, seed, labels, targets):
    return {"experiment": experiment, "paper": "ho2020", "cell": cell, "labels": labels,
            "model": "mmfa", "task": "supervised", "dataset": dataset,
            "test_dataset": dataset, "class_set": class_set, "protocol": "official",
            "scenario": "mixed", "targets": targets, "fold": 0, "fold_name": "official",
            "seed": seed}


def classification_run(root, dataset, class_set, modality, seed):
    classes = list(get_class_set(class_set).classes)
    rng = np.random.default_rng(hash((dataset, modality, seed)) % 2**32)
    n = 6 * len(classes)
    y = rng.permutation(np.resize(np.arange(len(classes)), n))
    prob = rng.dirichlet(np.ones(len(classes)), size=n)
    prob[np.arange(n), y] += 0.5
    prob /= prob.sum(axis=1, keepdims=True)
    run = _run_block("ho2020/table6", dataset, class_set, modality, seed,
                     {"modality": modality, "output": "classes"}, ["classes"])
    floor = {"train_majority": {"class": classes[0], "accuracy": float(np.mean(y == 0))}}
    _write(root, run, classification_report(y, prob, classes),
           [f"{dataset}-{i}" for i in range(n)], y, prob, classes, False, floor)
    return classification_report(y, prob, classes), floor


def regression_run(root, modality, seed):
    rng = np.random.default_rng(seed + 10)
    y = rng.integers(0, 10, size=(30, 6)) / 3
    pred = np.clip(y + rng.normal(0, 0.3, size=y.shape), 0, 3)
    run = _run_block("ho2020/table7", "mosei", "mosei6", f"{modality}-scores", seed,
                     {"modality": modality, "output": "scores"}, SCORES)
    floor = {"train_mean": {"mae": float(np.abs(y - y.mean(axis=0) + 0.1).mean())}}
    _write(root, run, regression_report(y, pred, SCORES), [f"m{i}" for i in range(30)], y,
           pred, SCORES, True, floor)
    return float(np.abs(np.round(y, 6) - np.round(pred, 6)).mean()), floor["train_mean"]["mae"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    runs, out = tmp_path_factory.mktemp("runs"), tmp_path_factory.mktemp("tables")
    made = {}
    for dataset, class_set in (("meld", "meld7"), ("mosei", "mosei6")):
        for modality in MODALITIES:
            for seed in SEEDS:
                made[dataset, modality, seed] = classification_run(runs, dataset, class_set,
                                                                   modality, seed)
    for modality in ("audio", "text"):          # multimodal-scores left out: its command shows
        for seed in SEEDS:
            made["scores", modality, seed] = regression_run(runs, modality, seed)
    write_report(runs, out, experiments_dir())
    return out, made


def _csv(out, name):
    return pd.read_csv(out / f"{name}.csv", keep_default_na=False)


def test_every_published_number_of_tables_5_6_7_10_is_in_place(report):
    out, _ = report
    published = load_published(experiments_dir() / "ho2020" / "published.csv")
    checked = 0
    for table, datasets in (("table6", ("meld", "mosei")), ("table7", ("meld", "mosei")),
                            ("table10", ("meld", "mosei")), ("table5", ("iemocap",))):
        for dataset in datasets:
            frame = _csv(out, f"ho2020_{table}_{dataset}")
            shown = frame[frame["paper_text"] != "—"]
            mine = published[(published["table"] == table) & (published["dataset"] == dataset)]
            # every published row of this table and corpus is shown once, with its value
            assert len(shown) == len(mine), (table, dataset)
            assert sorted(shown["paper_mean"].astype(float)) == pytest.approx(
                sorted(mine["mean"].astype(float)))
            checked += len(mine)
    assert checked == 30 + 40 + 180 + 27


def test_table6_per_corpus_with_its_numbers_ours_and_the_majority_floor(report):
    out, made = report
    meld, mosei = _csv(out, "ho2020_table6_meld"), _csv(out, "ho2020_table6_mosei")

    def at(frame, modality, column):
        return frame[(frame["row_modality"] == modality) & (frame["column"] == column)].iloc[0]

    assert float(at(meld, "Multimodal", "ACC")["paper_mean"]) == 63.26
    assert float(at(mosei, "Multimodal", "ACC")["paper_mean"]) == 99.19
    assert "93.87" in at(mosei, "Text", "ACC_B")["paper_text"]      # as printed, with a note
    accs = [100 * made["mosei", "text", s][0]["metrics"]["accuracy"] for s in SEEDS]
    assert float(at(mosei, "Text", "ACC")["ours_mean"]) == pytest.approx(np.mean(accs))
    assert float(at(mosei, "Text", "ACC")["ours_std"]) == pytest.approx(np.std(accs, ddof=1))
    floor = [100 * made["meld", "audio", s][1]["train_majority"]["accuracy"] for s in SEEDS]
    assert float(at(meld, "Audio", "ACC majority")["ours_mean"]) == pytest.approx(
        np.mean(floor))


def test_table10_has_each_corpus_its_classes(report):
    out, made = report
    meld, mosei = _csv(out, "ho2020_table10_meld"), _csv(out, "ho2020_table10_mosei")
    assert list(dict.fromkeys(meld["row_class"])) == [
        "Neutral", "Surprise", "Fear", "Sadness", "Joy", "Disgust", "Anger",
        "Weighted Average"]
    assert list(dict.fromkeys(mosei["row_class"])) == [
        "Happy", "Sad", "Angry", "Fear", "Disgust", "Surprise", "Weighted Average"]
    fear = meld[(meld["row_class"] == "Fear") & (meld["group"] == "Multimodal")
                & (meld["column"] == "F1")].iloc[0]
    assert float(fear["paper_mean"]) == 38.46 and "28.57" in fear["note"]
    recall = [100 * made["mosei", "audio", s][0]["per_class"]["fear"]["recall"] for s in SEEDS]
    row = mosei[(mosei["row_class"] == "Fear") & (mosei["group"] == "Audio")
                & (mosei["column"] == "REC")].iloc[0]
    assert float(row["ours_mean"]) == pytest.approx(np.mean(recall))


def test_table7_lists_each_corpus_its_literature_and_our_mae_beside_the_floor(report):
    out, made = report
    meld, mosei = _csv(out, "ho2020_table7_meld"), _csv(out, "ho2020_table7_mosei")
    assert "W. Jiao et al. [24]" in set(meld["row_model"])
    assert "W. Jiao et al. [24]" not in set(mosei["row_model"])
    assert "J. Williams et al. [45]" in set(mosei["row_model"])
    # a work's modalities without a number are no rows (Jiao: text only)
    assert set(meld.loc[meld["row_model"] == "W. Jiao et al. [24]", "row_modality"]) == {"Text"}
    ours = mosei[mosei["row_model"] == "Ours (this package)"]
    mae = ours[(ours["row_modality"] == "Audio") & (ours["column"] == "MAE")].iloc[0]
    expect = [made["scores", "audio", s][0] for s in SEEDS]
    assert float(mae["ours_mean"]) == pytest.approx(np.mean(expect), abs=1e-6)
    floor = ours[(ours["row_modality"] == "Audio") & (ours["column"] == "MAE training mean")]
    assert float(floor.iloc[0]["ours_mean"]) == pytest.approx(
        np.mean([made["scores", "audio", s][1] for s in SEEDS]))
    acc = ours[(ours["row_modality"] == "Text") & (ours["column"] == "ACC")].iloc[0]
    assert float(acc["ours_mean"]) == pytest.approx(
        np.mean([100 * made["mosei", "text", s][0]["metrics"]["accuracy"] for s in SEEDS]))
    paper = mosei[(mosei["row_model"] == "Proposed Model (paper)")
                  & (mosei["row_modality"] == "Multimodal") & (mosei["column"] == "MAE")]
    assert float(paper.iloc[0]["paper_mean"]) == 0.1321 and "0.1312" in paper.iloc[0]["note"]
    md = (out / "ho2020_table7_mosei.md").read_text()
    # the cell not run, with the command that runs it (table7 runs on mosei by default)
    assert "ser-train --experiment ho2020/table7 --cells multimodal-scores" in md
    # MELD has no scores: our MAE there is n/a, and no run of table7 is asked for on MELD
    ours_meld = meld[meld["row_model"] == "Ours (this package)"]
    assert set(ours_meld.loc[ours_meld["column"] == "MAE", "ours_text"]) == {"n/a"}
    meld_md = (out / "ho2020_table7_meld.md").read_text()
    assert "ser-train --experiment ho2020/table7" not in meld_md
    assert "ser-train --experiment ho2020/table6 --cells audio" not in meld_md  # it ran


def test_table5_lists_other_work_with_its_cv_scheme_and_our_row(report):
    out, _ = report
    frame = _csv(out, "ho2020_table5_iemocap")
    models = list(dict.fromkeys(frame["row_model"]))
    assert models[0] == "V. Chernykh et al. [21] (Grouped CV)"
    assert models[-3:] == ["Proposed Model (paper, LOSO)", "Human Performance [33]",
                           "Ours (this package, LOSO)"]
    human = frame[frame["row_model"] == "Human Performance [33]"]
    assert human["row_modality"].tolist() == ["—", "—"]     # modality none, printed "—"
    ours = frame[frame["row_model"] == "Ours (this package, LOSO)"]
    assert set(ours["row_modality"]) == {"Audio", "Text", "Multimodal"}
    assert set(ours["cell"]) == {"mixed-audio", "improvised-audio", "mixed-text",
                                 "improvised-text", "mixed-multimodal",
                                 "improvised-multimodal"}

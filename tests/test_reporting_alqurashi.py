"""ser-report's alqurashi2024 outputs on FABRICATED run folders of experiment
``alqurashi2024/table2`` (the hierarchical cascade's runs: metrics.json with its ``cascade``
block, predictions.csv, corrected.csv): Table II (per-class precision and recall, UA, WA),
Table III (literature rows and ours beside the published numbers), Fig. 2 (the share of
emotional samples called neutral that the text model corrected), Fig. 3 (neutral precision and
recall over the thresholds), the Table I-style listing of corrected samples, and the
declaration keys they use (``figures:``, ``samples:``, run-block metrics, ``value_labels``).

Each fabricated run simulates the cascade on a made-up test set (Model 1 calls some samples
neutral; the text model re-classifies those; a threshold keeps neutral when the text model's
P(neutral) reaches it), so its metrics, cascade block and corrected.csv agree with one another;
the tests compare the report with numbers computed by hand from the fabricated predictions.

    .venv/bin/python -m pytest -q tests/test_reporting_alqurashi.py
"""
import csv
import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from ser_keras.config import experiments_dir
from ser_keras.errors import ConfigError
from ser_keras.evaluation import classification_report
from ser_keras.reporting import load_runs, write_report
from ser_keras.reporting import report as report_module
from ser_keras.reporting.declared import load_paper
from ser_keras.training.runner import write_predictions

PAPER = "alqurashi2024"
EXPERIMENT = "alqurashi2024/table2"
CLASSES = ["neutral", "angry", "sad", "happy"]   # iemocap4, in its order
NEUTRAL = 0
THRESHOLDS = {"st-0.25": 0.25, "st-0.30": 0.30, "st-0.35": 0.35, "st-0.40": 0.40}
VARIANTS = ["s", "st", *THRESHOLDS]
CORRECTED_HEADER = ["utt_id", "text", "speech_prediction", "text_prediction", "prediction",
                    "label"]
# The fabricated cells: (system, setting) -> (test samples, seeds). lstm-sd has two seeds
# (means over runs) and enough samples for more than 20 corrected rows (the listing's cap);
# w2vasr-si has no runs (missing cells).
SYSTEMS = {("lstm", "sd"): (160, (0, 1)), ("lstm", "si"): (48, (0,)),
           ("w2v", "sd"): (48, (0,)), ("w2v", "si"): (48, (0,)),
           ("w2vasr", "sd"): (48, (0,))}


def cell_id(system, variant, setting):
    return f"{system}-{variant}-{setting}"


# true labels of a test set: imbalanced (UA and WA differ), every class present
PATTERN = [NEUTRAL, NEUTRAL, 1, 2, 3, NEUTRAL, 1, 3]


def simulate(n, seed):
    """One cascade's test set: true labels, Model 1's neutral calls, Model 2's emotions, the
    text model's class and P(neutral)."""
    rng = np.random.default_rng(seed)
    y_true = np.resize(PATTERN, n)
    called_neutral = rng.random(n) < np.where(y_true == NEUTRAL, 0.8, 0.45)
    emotion = np.where((y_true != NEUTRAL) & (rng.random(n) < 0.7), y_true,
                       rng.integers(1, len(CLASSES), n))
    text = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, len(CLASSES), n))
    p_neutral = np.where(text == NEUTRAL, rng.uniform(0.4, 0.9, n), rng.uniform(0.0, 0.5, n))
    return y_true, called_neutral, emotion, text, p_neutral


def final_predictions(variant, called_neutral, emotion, text, p_neutral):
    """Fig. 1 / Algorithm 1: emotional calls go to Model 2; neutral calls stay neutral (S),
    take the text model's class (ST), or stay neutral when P(neutral) >= the threshold."""
    if variant == "s":
        after = np.full_like(text, NEUTRAL)
    elif variant == "st":
        after = text
    else:
        after = np.where(p_neutral >= THRESHOLDS[variant], NEUTRAL, text)
    return np.where(called_neutral, after, emotion)


def write_run(root, system, variant, setting, seed, n, dataset="iemocap"):
    """A run folder as the hierarchical task writes it; returns what the tests compare."""
    y_true, called, emotion, text, p_neutral = simulate(
        n, 1000 * seed + 10 * len(system) + n + (5 if setting == "si" else 0))
    pred = final_predictions(variant, called, emotion, text, p_neutral)
    cell = cell_id(system, variant, setting)
    prob = np.full((n, len(CLASSES)), 0.1)
    prob[np.arange(n), pred] = 0.7
    report = classification_report(y_true, prob, CLASSES)
    emotional_called = called & (y_true != NEUTRAL)
    corrected = emotional_called & (pred == y_true)
    ecn = int(emotional_called.sum())
    cascade = {"source": None if variant == "st" else cell_id(system, "st", setting),
               "text": variant != "s", "threshold": THRESHOLDS.get(variant),
               "neutral": "neutral", "n_test": n, "called_neutral": int(called.sum()),
               "emotional_called_neutral": ecn, "corrected": int(corrected.sum()),
               "corrected_share": float(corrected.sum() / ecn) if ecn else None,
               "kept_neutral": int((called & (pred == NEUTRAL)).sum())}
    run = {"experiment": EXPERIMENT, "paper": PAPER, "cell": cell,
           "labels": {"system": system, "variant": variant, "setting": setting},
           "model": "", "task": "hierarchical", "dataset": dataset, "test_dataset": dataset,
           "class_set": "iemocap4", "protocol": "sd-80-10-10" if setting == "sd"
           else "si-session5", "scenario": "mixed", "targets": ["classes"], "fold": 0,
           "fold_name": setting, "seed": seed, "stand_ins": {}, "transcripts": {}}
    directory = root / EXPERIMENT / dataset / cell / f"fold00-seed{seed}"
    directory.mkdir(parents=True)
    ids = [f"{cell}-s{seed}-u{i:03d}" for i in range(n)]
    write_predictions(directory / "predictions.csv", ids, y_true, prob, CLASSES, False)
    sentences = [f"sentence {i} of {cell} | seed {seed}" for i in range(n)]
    with open(directory / "corrected.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CORRECTED_HEADER)
        for i in np.flatnonzero(corrected):
            writer.writerow([ids[i], sentences[i], "neutral", CLASSES[text[i]],
                             CLASSES[pred[i]], CLASSES[y_true[i]]])
    record = {"run": run, **report, "cascade": cascade,
              "selection": {"epoch": 1, "metric": "balanced_accuracy", "value": 0.5},
              "params": 10, "train_seconds": 1.0}
    (directory / "metrics.json").write_text(json.dumps(record))
    return {"dir": directory, "y_true": y_true, "pred": pred, "cascade": cascade,
            "corrected": [(ids[i], sentences[i], CLASSES[text[i]], CLASSES[y_true[i]])
                          for i in np.flatnonzero(corrected)]}


@pytest.fixture(scope="module")
def fabricated(tmp_path_factory):
    base = tmp_path_factory.mktemp("alq")
    root, experiments = base / "runs", base / "experiments"
    # the shipped declarations (tables.yaml, published.csv, the experiment's YAML) alone
    shutil.copytree(experiments_dir() / PAPER, experiments / PAPER)
    runs = {}
    for (system, setting), (n, seeds) in SYSTEMS.items():
        for variant in VARIANTS:
            runs[cell_id(system, variant, setting)] = [
                write_run(root, system, variant, setting, seed, n) for seed in seeds]
    # a demo run (ser-train --dataset demo): a table of its own
    runs["demo"] = [write_run(root, "lstm", "st", "sd", 0, 24, dataset="demo")]
    # a run written before corrected.csv existed
    runs["demo"][0]["dir"].joinpath("corrected.csv").unlink()
    out = base / "tables"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = write_report(root, out, experiments)
    return {"root": root, "experiments": experiments, "runs": runs, "out": out,
            "summary": summary}


def _csv(fabricated, name, dataset="iemocap"):
    return pd.read_csv(fabricated["out"] / f"{PAPER}_{name}_{dataset}.csv",
                       keep_default_na=False, na_values=[""])


def _entry(frame, cell, column):
    hits = frame[(frame["cell"] == cell) & (frame["column"] == column)]
    assert len(hits) == 1, (cell, column, len(hits))
    return hits.iloc[0]


def _hand(record, stat, cls=None):
    """Precision / recall of one class, UA or WA, in percent, from the fabricated labels."""
    y, p = record["y_true"], record["pred"]
    if stat == "WA":
        return 100 * np.mean(y == p)
    if stat == "UA":
        return 100 * np.mean([np.mean(p[y == c] == c) for c in range(len(CLASSES))])
    c = CLASSES.index(cls)
    hit = np.sum((p == c) & (y == c))
    return 100 * hit / (np.sum(p == c) if stat == "P" else np.sum(y == c))


def _md_row(md, first):
    for line in md.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r}")


# --- the declaration ---------------------------------------------------------------------------

def test_the_shipped_tables_yaml_declares_tables_figures_and_a_listing():
    decls = load_paper(experiments_dir() / PAPER / "tables.yaml")
    assert [t.name for t in decls.tables] == ["table2", "table3"]
    assert [(f.name, f.kind) for f in decls.figures] == [("fig2", "bars"), ("fig3", "curve")]
    (listing,) = decls.samples
    assert listing.name == "table1" and listing.file == "corrected.csv"
    assert listing.max_rows == 20
    assert decls.figures[0].columns[0].metric == "cascade.corrected_share"


# --- Table II ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["lstm-s-si", "lstm-st-0.30-si", "w2v-st-si", "w2vasr-st-0.40-sd"])
def test_table2_values_equal_the_fabricated_metrics(fabricated, cell):
    frame = _csv(fabricated, "table2")
    (record,) = fabricated["runs"][cell]
    for cls in ("Angry", "Happy", "Sad", "Neutral"):
        for stat in ("P", "R"):
            entry = _entry(frame, cell, f"{cls} {stat}")
            assert entry["ours_mean"] == pytest.approx(_hand(record, stat, cls.lower()))
            assert entry["n"] == 1 and np.isnan(entry["paper_mean"])
    for stat in ("UA", "WA"):
        assert _entry(frame, cell, stat)["ours_mean"] == pytest.approx(_hand(record, stat))


def test_table2_over_two_seeds_is_their_mean_and_std(fabricated):
    frame = _csv(fabricated, "table2")
    records = fabricated["runs"]["lstm-st-sd"]
    values = [_hand(r, "UA") for r in records]
    entry = _entry(frame, "lstm-st-sd", "UA")
    assert entry["n"] == 2
    assert entry["ours_mean"] == pytest.approx(np.mean(values))
    assert entry["ours_std"] == pytest.approx(np.std(values, ddof=1))


def test_table2_markdown_has_the_paper_layout_and_says_its_numbers_are_lost(fabricated):
    md = (fabricated["out"] / f"{PAPER}_table2_iemocap.md").read_text()
    header = _md_row(md, "Classifier")
    assert header == ["Classifier", "Modalities", "Setting", "Angry P", "Angry R", "Happy P",
                      "Happy R", "Sad P", "Sad R", "Neutral P", "Neutral R", "UA", "WA"]
    record = fabricated["runs"]["w2v-st-0.25-sd"][0]
    row = _md_row(md.replace("| w2v | ST-0.25 | D |", "| w2v-ST-0.25-D |"), "w2v-ST-0.25-D")
    assert row[-1] == f"{_hand(record, 'WA'):.2f}"
    assert "Table II body is lost" in md and "No published numbers are shown." in md
    tex = (fabricated["out"] / f"{PAPER}_table2_iemocap.tex").read_text()
    assert "Paper" not in tex.split(r"\midrule")[0].split(r"\toprule")[1]


# --- Table III ---------------------------------------------------------------------------------

LITERATURE = {"SVM tree ensembles [29]": ("67.40", "67.40"),
              "E-vector + MCNN + LSTM [26]": ("65.90", "64.90"),
              "(ENC1) + (ENC2) [27]": ("68.40", "—"),
              "Late Fusion-III [28]": ("59.30", "61.20"),
              "ACO(+)Cepstrum(+)Cepstral-BoW+GSV-mean(+)Lex-BoW(+)Lex-eVector [30]":
                  ("—", "69.20"),
              "ASR-SER (Hierarchical co-attention) [31]": ("—", "63.40")}


def test_table3_shows_the_literature_rows_as_printed(fabricated):
    md = (fabricated["out"] / f"{PAPER}_table3_iemocap.md").read_text()
    for name, (ua, wa) in LITERATURE.items():
        row = _md_row(md, name)
        assert (row[1], row[2], row[4], row[5]) == ("", ua, "", wa)


@pytest.mark.parametrize("row, cell, paper", [
    ("Ours (SD) W2v-ST-D", "w2v-st-sd", (68.9, 71.3)),
    ("Ours (SI) W2v-ST-I", "w2v-st-si", (68.3, 68.2)),
])
def test_table3_our_rows_beside_the_published_numbers(fabricated, row, cell, paper):
    frame = _csv(fabricated, "table3")
    (record,) = fabricated["runs"][cell]
    for column, published in zip(("UA", "WA"), paper):
        entry = _entry(frame, cell, column)
        assert entry["row_system"] == row
        assert entry["ours_mean"] == pytest.approx(_hand(record, column))
        assert entry["paper_mean"] == pytest.approx(published)
        assert entry["diff"] == pytest.approx(_hand(record, column) - published)
    md = (fabricated["out"] / f"{PAPER}_table3_iemocap.md").read_text()
    cells = _md_row(md, row)
    assert cells[1:4] == [f"{_hand(record, 'UA'):.2f}", f"{paper[0]:.2f}",
                          f"{_hand(record, 'UA') - paper[0]:+.2f}"]


# --- Fig. 2 --------------------------------------------------------------------------------------

def test_fig2_numbers_are_corrected_over_emotional_called_neutral(fabricated):
    frame = _csv(fabricated, "fig2")
    for (system, setting) in SYSTEMS:
        cell = cell_id(system, "st", setting)
        blocks = [r["cascade"] for r in fabricated["runs"][cell]]
        shares = [100 * b["corrected"] / b["emotional_called_neutral"] for b in blocks]
        entry = _entry(frame, cell, "Corrected")
        assert entry["ours_mean"] == pytest.approx(np.mean(shares))
        assert entry["n"] == len(blocks)
        counts = _entry(frame, cell, "Emotional called neutral")
        assert counts["ours_mean"] == pytest.approx(
            np.mean([b["emotional_called_neutral"] for b in blocks]))
    assert _entry(frame, "lstm-st-sd", "Corrected")["paper_mean"] == pytest.approx(59.5)
    assert _entry(frame, "lstm-st-si", "Corrected")["paper_mean"] == pytest.approx(44.6)
    assert np.isnan(_entry(frame, "w2v-st-sd", "Corrected")["paper_mean"])


def test_fig2_bars_are_drawn_from_the_table(fabricated, monkeypatch, tmp_path):
    seen = {}
    real = report_module.bar_chart
    monkeypatch.setattr(report_module, "bar_chart",
                        lambda *a, **k: seen.update(args=a) or real(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_report(fabricated["root"], tmp_path, fabricated["experiments"])
    positions, (bar,), path, _, ylabel, rest = seen["args"][:6]
    assert positions[0] == "LSTM-ST-D" and len(positions) == 6 and rest == "Uncorrected"
    assert bar.name == "Corrected" and ylabel == "%"
    frame = _csv(fabricated, "fig2")
    ours = [_entry(frame, cell_id(s, "st", t), "Corrected")["ours_mean"]
            for s in ("lstm", "w2v", "w2vasr") for t in ("sd", "si")]
    np.testing.assert_allclose(bar.means, ours)
    assert np.isnan(bar.means[-1])                     # w2vasr-st-si: no runs
    np.testing.assert_allclose(bar.published[:2], [59.5, 44.6])
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fig2_files_are_written_and_listed(fabricated):
    out = fabricated["out"]
    png = out / "figures" / f"{PAPER}_fig2_iemocap.png"
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    md = (out / f"{PAPER}_fig2_iemocap.md").read_text()
    assert f"](figures/{PAPER}_fig2_iemocap.png)" in md
    assert "| LSTM | ST | D |" in md and "59.50" in md
    index = (out / "README.md").read_text()
    assert f"figures/{PAPER}_fig2_iemocap.png" in index
    assert f"{PAPER}_fig2_iemocap.csv" in index


# --- Fig. 3 --------------------------------------------------------------------------------------

def test_fig3_curves_are_neutral_precision_over_recall_per_threshold(fabricated, monkeypatch,
                                                                    tmp_path):
    seen = {}
    real = report_module.curve_chart
    monkeypatch.setattr(report_module, "curve_chart",
                        lambda *a, **k: seen.update(args=a) or real(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_report(fabricated["root"], tmp_path, fabricated["experiments"])
    panels, path = seen["args"][:2]
    assert list(panels) == ["LSTM", "w2v", "w2vASR"]
    (d, i) = panels["LSTM"]
    assert (d.name, i.name) == ("LSTM-D", "LSTM-I")
    assert [t for *_, t in d.points] == ["ST-0.25", "ST-0.30", "ST-0.35", "ST-0.40"]
    assert sorted(t for *_, t in d.references) == ["S", "ST"]
    (record,) = fabricated["runs"]["lstm-st-0.35-si"]
    x, y, _ = i.points[2]
    assert x == pytest.approx(_hand(record, "R", "neutral"))
    assert y == pytest.approx(_hand(record, "P", "neutral"))
    (w2vasr_d, w2vasr_i) = panels["w2vASR"]
    assert all(np.isnan(x) for x, _, _ in w2vasr_i.points)   # no runs
    assert path.is_file() and path.read_bytes()[:4] == b"\x89PNG"
    assert (fabricated["out"] / "figures" / f"{PAPER}_fig3_iemocap.png").is_file()


# --- the Table I-style listing -----------------------------------------------------------------

def test_the_listing_holds_the_corrected_rows_capped_per_cell(fabricated):
    frame = pd.read_csv(fabricated["out"] / f"{PAPER}_table1_iemocap.csv", dtype=str,
                        keep_default_na=False)
    md = (fabricated["out"] / f"{PAPER}_table1_iemocap.md").read_text()
    for (system, setting) in SYSTEMS:
        cell = cell_id(system, "st", setting)
        rows = [row for r in fabricated["runs"][cell] for row in r["corrected"]]
        mine = frame[frame["cell"] == cell]
        assert len(mine) == min(len(rows), 20)
        assert list(mine["utt_id"]) == [r[0] for r in rows[:20]]
        assert list(mine["text"]) == [r[1] for r in rows[:20]]
        assert set(mine["speech_prediction"]) == {"neutral"}
        assert list(mine["label"]) == [r[3] for r in rows[:20]]
        # the counts table: runs, every corrected row, those shown
        line = next(x for x in md.splitlines() if f"| {cell} |" in x)
        assert line.endswith(f"| {len(fabricated['runs'][cell])} | {len(rows)} | "
                             f"{min(len(rows), 20)} |")
    big = [row for r in fabricated["runs"]["lstm-st-sd"] for row in r["corrected"]]
    assert len(big) > 20            # the cap is exercised
    # a sentence with a pipe stays one Markdown cell
    first = big[0][1].replace("|", "\\|")
    assert f"| LSTM-ST-D | {first} | neutral |" in md
    assert "| Model | Sentence | SM's prediction | TM's prediction | True label |" in md


def test_the_listing_names_missing_cells_and_runs_without_the_file(fabricated):
    md = (fabricated["out"] / f"{PAPER}_table1_iemocap.md").read_text()
    assert "ser-train --experiment alqurashi2024/table2 --cells w2vasr-st-si" in md
    demo = (fabricated["out"] / f"{PAPER}_table1_demo.md").read_text()
    assert "Note: lstm-st-sd seed 0 fold 0: no corrected.csv in its run folder" in demo
    assert "NOT comparable" in demo
    index = (fabricated["out"] / "README.md").read_text()
    assert "## Listings" in index and f"{PAPER}_table1_iemocap.md" in index


# --- missing cells ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, cell", [("table2", "w2vasr-st-0.25-si"), ("table3", None),
                                        ("fig2", "w2vasr-st-si"), ("fig3", "w2vasr-s-si")])
def test_missing_cells_give_their_commands(fabricated, name, cell):
    md = (fabricated["out"] / f"{PAPER}_{name}_iemocap.md").read_text()
    if cell is None:
        assert "Missing cells" not in md
        return
    assert f"ser-train --experiment alqurashi2024/table2 --cells {cell}\n" in md
    frame = _csv(fabricated, name)
    assert set(frame.loc[frame["cell"] == cell, "command"]) == {
        f"ser-train --experiment alqurashi2024/table2 --cells {cell}"}


def test_without_runs_every_output_is_written_with_its_commands(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    runs.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = write_report(runs, out, experiments_dir())
    for name in ("table2", "table3", "fig2", "fig3", "table1"):
        md = (out / f"{PAPER}_{name}_iemocap.md").read_text()
        assert "ser-train --experiment alqurashi2024/table2 --cells w2v-st-sd" in md
    assert (out / "figures" / f"{PAPER}_fig2_iemocap.png").is_file()
    assert f"{PAPER}_fig3_iemocap" in summary.plots
    assert any(line.startswith(f"  {PAPER} table1 [iemocap]: 0 runs")
               for line in summary.lines())


# --- run-block values in the tidy frame ---------------------------------------------------------

def test_run_block_values_are_read_only_when_named(fabricated):
    runs = load_runs(fabricated["root"], blocks=["cascade"])
    mine = runs[(runs["cell"] == "lstm-s-si") & runs["metric"].str.startswith("cascade.")]
    block = fabricated["runs"]["lstm-s-si"][0]["cascade"]
    values = dict(zip(mine["metric"], mine["value"]))
    assert values["cascade.corrected"] == block["corrected"]
    assert values["cascade.n_test"] == block["n_test"]
    assert np.isnan(values["cascade.threshold"])                  # null
    assert "cascade.text" not in values and "cascade.source" not in values  # no numbers
    assert set(mine["class"]) == {""}
    plain = load_runs(fabricated["root"])
    assert not plain["metric"].str.startswith("cascade.").any()


# --- declaration errors --------------------------------------------------------------------

BASE = """\
paper: toy
defaults: {experiment: toy/exp, dataset: iemocap, axes: {system: [a, b], point: [p1, p2, r]}}
"""


@pytest.mark.parametrize("section, says", [
    ("figures: [{name: f, label: F, title: t, kind: pie, rows: [system], "
     "columns: [{header: A, metric: accuracy}]}]", "kind: 'pie'"),
    ("figures: [{name: f, label: F, title: t, rows: [system], rest: R, "
     "columns: [{header: A, metric: accuracy}, {header: B, metric: accuracy}]}]",
     "rest: the complement"),
    ("figures: [{name: f, label: F, title: t, kind: curve, rows: [system, point], x: A, "
     "y: C, points: point, columns: [{header: A, metric: accuracy}, "
     "{header: B, metric: accuracy}]}]", "y: 'C' is no column header"),
    ("figures: [{name: f, label: F, title: t, kind: curve, rows: [system, point], x: A, "
     "y: B, points: point, connect: [p3], columns: [{header: A, metric: accuracy}, "
     "{header: B, metric: accuracy}]}]", "connect: ['p3']"),
    ("figures: [{name: f, label: F, title: t, rows: [system], x: A, "
     "columns: [{header: A, metric: accuracy}]}]", "['x'] are keys of kind curve"),
    ("tables: [{name: t, label: T, title: t, rows: [system], "
     "columns: [{header: A, metric: cascade.x, for_class: angry}], class_set: iemocap4}]",
     "run-level value of block 'cascade'"),
    ("tables: [{name: t, label: T, title: t, rows: [system], value_labels: "
     "{system: {c: {x: y}}}, columns: [{header: A, metric: accuracy}]}]",
     "value_labels.system: ['c'] are no values"),
    ("samples: [{name: s, label: S, title: t, rows: [system], file: ../x.csv, "
     "columns: [{column: text}]}]", "file: '../x.csv'"),
    ("samples: [{name: s, label: S, title: t, rows: [system], file: x.csv, max_rows: 0, "
     "columns: [{column: text}]}]", "max_rows: must be >= 1"),
    ("tables: [{name: s, label: T, title: t, rows: [system], "
     "columns: [{header: A, metric: accuracy}]}]\n"
     "samples: [{name: s, label: S, title: t, rows: [system], file: x.csv, "
     "columns: [{column: text}]}]", "'s' is declared twice"),
])
def test_bad_declarations_are_one_line_errors_naming_the_file(tmp_path, section, says):
    path = tmp_path / "tables.yaml"
    path.write_text(BASE + section + "\n")
    with pytest.raises(ConfigError) as err:
        load_paper(path)
    message = str(err.value)
    assert says in message and str(path) in message and "\n" not in message

"""ho2020 (MMFA-RNN, IEEE Access 2020): the layouts of Tables 3, 4, 8 and 9.

- Table 3 (four emotions) and Table 4 (eight emotions): rows Scenario x Modality, columns
  ACC, ACC_B, PRE, REC, F_beta (weighted averages, beta = 0.5; App. B).
- Table 8 and Table 9: the per-class view of the same runs as Tables 3 and 4: rows
  Scenario x class plus the weighted average, one column group per modality with PRE, REC,
  F1 and Support.

Published numbers: ``experiments/ho2020/published.csv`` (IEMOCAP, mean and std over the
10 leave-one-speaker-out folds, in percent; Support as printed, i.e. test utterances per fold).
"""
from __future__ import annotations

from ser_keras.data.classes import get_class_set
from ser_keras.reporting.tables import Column, Entry, Row, TableSpec, published_key

PAPER = "ho2020"
SCENARIOS = ("improvised", "mixed")                     # ho2020 Sec. IV-A
MODALITIES = ("audio", "text", "multimodal")            # ho2020 Tables 3, 4: audio, text, MMFA
EXPECTED_FOLDS = 10                                     # loso10: one fold per IEMOCAP speaker
PAPER_DATASET = "iemocap"
# Columns of Tables 3/4: (header, tidy metric of runs.py, published.csv metric).
SUMMARY_METRICS = (("ACC", "accuracy", "ACC"), ("ACC_B", "balanced_accuracy", "ACC_B"),
                   ("PRE", "precision", "PRE"), ("REC", "recall", "REC"),
                   ("F_beta", "fbeta", "F_beta"))
# Columns of Tables 8/9 inside each modality group: (header, tidy metric, published, kind).
CLASS_METRICS = (("PRE", "precision", "PRE", "percent"), ("REC", "recall", "REC", "percent"),
                 ("F1", "f1", "F1", "percent"), ("Support", "support", "support", "count"))
DISPLAY = {"improvised": "Improvised", "mixed": "Mixed", "audio": "Audio", "text": "Text",
           "multimodal": "Multimodal", "weighted_average": "Weighted Average",
           "happy": "Happy"}


def cell_id(scenario: str, modality: str) -> str:
    """Cell ids of experiments/ho2020/table{3,4}.yaml (ser-train --cells)."""
    return f"{scenario}-{modality}"


def _display(name: str) -> str:
    return DISPLAY.get(name, name.capitalize())


def summary_table(name: str, label: str, experiment: str, class_set: str, title: str
                  ) -> TableSpec:
    """Tables 3 and 4: one row per scenario x modality, the five summary metrics."""
    columns = tuple(Column(header) for header, _, _ in SUMMARY_METRICS)
    rows = tuple(
        Row((_display(scenario), _display(modality)), tuple(
            Entry(cell_id(scenario, modality), metric, "",
                  published_key(table=name, scenario=scenario, modality=modality, class_="",
                                metric=published))
            for _, metric, published in SUMMARY_METRICS))
        for scenario in SCENARIOS for modality in MODALITIES)
    return TableSpec(
        paper=PAPER, name=name, label=label, title=title, experiment=experiment,
        class_set=class_set, dataset=PAPER_DATASET, expected_folds=EXPECTED_FOLDS,
        row_header=("Scenario", "Modality"), columns=columns, rows=rows,
        description="ACC accuracy, ACC_B balanced accuracy; PRE, REC and F_beta (beta = 0.5) "
                    "are weighted averages over classes (ho2020 App. B).",
        figures=True)


def per_class_table(name: str, label: str, experiment: str, class_set: str, title: str
                    ) -> TableSpec:
    """Tables 8 and 9: rows scenario x class (+ weighted average), a group per modality."""
    columns = tuple(Column(header, _display(modality), kind)
                    for modality in MODALITIES for header, _, _, kind in CLASS_METRICS)
    # Our class sets list the classes in the paper's row order (Tables 8, 9).
    classes = (*get_class_set(class_set).classes, "weighted_average")
    rows = tuple(
        Row((_display(scenario), _display(cls)), tuple(
            Entry(cell_id(scenario, modality), metric, cls,
                  published_key(table=name, scenario=scenario, modality=modality, class_=cls,
                                metric=published))
            for modality in MODALITIES for _, metric, published, _ in CLASS_METRICS))
        for scenario in SCENARIOS for cls in classes)
    return TableSpec(
        paper=PAPER, name=name, label=label, title=title, experiment=experiment,
        class_set=class_set, dataset=PAPER_DATASET, expected_folds=EXPECTED_FOLDS,
        row_header=("Scenario", "Class"), columns=columns, rows=rows,
        description="Per-class precision, recall and F1; Support = test utterances per run "
                    "(the paper's Support is per fold: Table 1's Mixed counts / 10). Weighted "
                    "Average = sklearn's support-weighted mean; its Support = all test "
                    "utterances of a run.",
        figures=False)  # same runs as Tables 3 / 4, whose figures are written there


def table_specs() -> list[TableSpec]:
    """ho2020's regenerated tables, in the paper's order of appearance."""
    return [
        summary_table("table3", "Table 3", "ho2020/table3", "iemocap4",
                      "four emotions (neutral, angry, sad, happy + excited), Improvised and "
                      "Mixed"),
        summary_table("table4", "Table 4", "ho2020/table4", "iemocap8",
                      "eight emotions, Improvised and Mixed"),
        per_class_table("table8", "Table 8", "ho2020/table3", "iemocap4",
                        "per-class results of the four-emotion classifier (runs of Table 3)"),
        per_class_table("table9", "Table 9", "ho2020/table4", "iemocap8",
                        "per-class results of the eight-emotion classifier (runs of Table 4)"),
    ]

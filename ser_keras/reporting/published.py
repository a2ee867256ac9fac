"""Read a paper's published numbers (``experiments/<paper>/published.csv``) and look them up.

Every paper's file has its own key columns (ho2020: ``table, scenario, modality, class,
metric``) followed by ``mean, std, note`` (and optionally ``mark``: the significance marks printed on
the cell, e.g. ``*†``): numbers as the paper prints them (percentages for
rates), ``std`` empty where the paper gives none, ``note`` saying how a garbled cell was read.
A table spec addresses one row with a mapping ``{key column: value}``. Several remarks on one
cell are joined by ``"; "`` in ``note``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

VALUE_COLUMNS = ("mean", "std", "note")
MARK = "mark"  # optional value column: significance marks as printed ("*", "†", "*†")
NOTE_SEPARATOR = "; "


@dataclasses.dataclass(frozen=True)
class Published:
    mean: float
    std: float          # NaN where the paper prints none
    note: str = ""
    mark: str = ""      # the significance marks printed on the cell


def published_path(experiments_dir: str | Path, paper: str) -> Path:
    return Path(experiments_dir) / paper / "published.csv"


def load_published(path: str | Path) -> pd.DataFrame:
    """The published.csv as a frame: key columns as strings ('' where empty), mean/std floats."""
    # keep_default_na=False: an empty class means "no class" and must stay "", not NaN.
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in VALUE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    for col in ("mean", "std"):
        frame[col] = pd.to_numeric(frame[col].replace("", np.nan), errors="raise")
    return frame


def lookup(published: pd.DataFrame | None, key: Mapping[str, str] | None) -> Published | None:
    """The one published row matching every ``key`` column, or None when there is none."""
    if published is None or key is None or published.empty:
        return None
    mask = np.ones(len(published), dtype=bool)
    for column, value in key.items():
        if column not in published.columns:
            raise KeyError(f"published numbers have no column {column!r}")
        mask &= (published[column] == value).to_numpy()
    hits = published[mask]
    if len(hits) > 1:
        raise ValueError(f"published numbers: {len(hits)} rows match {dict(key)}")
    if hits.empty:
        return None
    row = hits.iloc[0]
    return Published(float(row["mean"]), float(row["std"]), str(row["note"]),
                     str(row[MARK]) if MARK in published.columns else "")

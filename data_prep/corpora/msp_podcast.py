"""MSP-Podcast adapter: ``ser-prepare msp_podcast /path/to/MSP-Podcast``.

Reads ``Labels/labels_consensus.csv`` (older releases: ``labels_concensus.csv``), the wavs
under ``Audios/`` and, when the release has them (newer ones), ``Transcripts/<stem>.txt``.
One manifest row per label row, plus one row (status ``no_row``) per wav that no label row
names.

Written to the manifest:
- ``utt_id``: the file stem (``MSP-PODCAST_0001_0008``); ``audio_path``: ``Audios/<FileName>``
  (found anywhere under ``Audios/``, some copies keep sub-folders).
- ``label``: the EmoClass letter as released (A angry, S sad, H happy, U surprise, F fear,
  D disgust, C contempt, N neutral, O other, X no agreement); protocols pick classes.
- ``valence``/``arousal``/``dominance``: EmoVal / EmoAct / EmoDom, 1-7 as released.
- ``speaker``: SpkrID; ``Unknown`` (speaker not identified) becomes "" so that the unknown
  speakers are never grouped as one speaker. ``gender``: Male/Female -> M/F, else "".
- ``split``: Train -> train, Development/Validation -> validation, Test1 -> test,
  Test2 -> test2, Test3 -> test3 (triantafyllopoulos2022 uses train/validation/test).
- ``text``: the transcript when ``Transcripts/`` has one, else "" (v1.7 has none).
- ``session``, ``dialog``, ``scenario``, ``start_s``, ``end_s``: empty (whole files).
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from data_prep.corpora.common import ScanResult, source_directory
from data_prep.errors import SourceError

NAME = "msp-podcast"
LABEL_FILES = ("labels_consensus.csv", "labels_concensus.csv")
EMO_CLASSES = frozenset("A S H U F D C N O X".split())
SPLITS = {"train": "train", "development": "validation", "validation": "validation",
          "test1": "test", "test2": "test2", "test3": "test3"}
GENDERS = {"male": "M", "female": "F", "m": "M", "f": "F"}
UNKNOWN_SPEAKER = frozenset({"unknown", ""})
REQUIRED_COLUMNS = ("FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "Split_Set")


def validate_source(source: Path) -> Path:
    """The consensus label file of a release, or SourceError."""
    source = source_directory(source)
    for name in LABEL_FILES:
        if (source / "Labels" / name).is_file():
            return source / "Labels" / name
    raise SourceError(f"{source}: not an MSP-Podcast release "
                      "(no Labels/labels_consensus.csv or Labels/labels_concensus.csv)")


def _float(value: str | None, where: str, column: str, problems: list[str]) -> float | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        problems.append(f"{where}: malformed {column} {value!r}")
        return None
    return number


def scan(source: str | Path, corpus: str = NAME) -> ScanResult:
    """Manifest rows (before audio checks) for every labelled file and every wav."""
    source = Path(source).resolve()
    label_path = validate_source(source)
    problems: list[str] = []
    audio_dir = source / "Audios"
    wavs: dict[str, Path] = {}
    if not audio_dir.is_dir():
        problems.append(f"{audio_dir}: audio folder missing")
    else:
        for wav in sorted(audio_dir.rglob("*.wav")):
            if wav.name.startswith("."):
                continue
            if wav.stem in wavs:
                problems.append(f"{wav}: duplicate wav for {wav.stem}; used {wavs[wav.stem]}")
                continue
            wavs[wav.stem] = wav
    transcripts = source / "Transcripts"
    text = io.StringIO(label_path.read_text(encoding="utf-8", errors="replace").lstrip("\ufeff"),
                       newline="")
    reader = csv.DictReader(text)
    reader.fieldnames = [f.strip() for f in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in reader.fieldnames]
    if missing:
        raise SourceError(f"{label_path}: not an MSP-Podcast label file "
                          f"(missing columns {', '.join(missing)})")
    rows: dict[str, dict] = {}
    for record in reader:
        where = f"{label_path}:{reader.line_num}"
        file_name = (record.get("FileName") or "").strip()
        if not file_name:
            problems.append(f"{where}: no FileName; row skipped")
            continue
        utt_id = Path(file_name).stem
        if utt_id in rows:
            problems.append(f"{where}: duplicate row for {utt_id}; kept the first")
            continue
        wav = wavs.get(utt_id, audio_dir / file_name)
        speaker = (record.get("SpkrID") or "").strip()
        split_set = (record.get("Split_Set") or "").strip()
        split = SPLITS.get(split_set.lower(), "")
        if not split:
            problems.append(f"{where}: unknown Split_Set {split_set!r} for {utt_id}")
        label = (record.get("EmoClass") or "").strip()
        row = {
            "utt_id": utt_id, "corpus": corpus, "audio_path": str(wav), "start_s": None,
            "end_s": None,
            "speaker": "" if speaker.lower() in UNKNOWN_SPEAKER else speaker,
            "gender": GENDERS.get((record.get("Gender") or "").strip().lower(), ""),
            "session": "", "dialog": "", "scenario": "", "text": _transcript(
                transcripts, utt_id, problems),
            "label": label,
            "valence": _float(record.get("EmoVal"), where, "EmoVal", problems),
            "arousal": _float(record.get("EmoAct"), where, "EmoAct", problems),
            "dominance": _float(record.get("EmoDom"), where, "EmoDom", problems),
            "split": split, "status": "ok",
        }
        if utt_id not in wavs:
            row["status"] = "missing_audio"
            problems.append(f"{wav}: audio missing for {where}")
        elif not label:
            row["status"] = "no_label"
            problems.append(f"{where}: no EmoClass for {utt_id}")
        elif label not in EMO_CLASSES:
            row["status"] = "unknown_label"
            problems.append(f"{where}: unknown EmoClass {label!r} for {utt_id}")
        rows[utt_id] = row
    for utt_id in sorted(set(wavs) - set(rows)):
        problems.append(f"{wavs[utt_id]}: wav named by no row of {label_path.name}")
        rows[utt_id] = {
            "utt_id": utt_id, "corpus": corpus, "audio_path": str(wavs[utt_id]),
            "start_s": None, "end_s": None, "speaker": "", "gender": "", "session": "",
            "dialog": "", "scenario": "", "text": _transcript(transcripts, utt_id, problems),
            "label": "", "valence": None, "arousal": None, "dominance": None, "split": "",
            "status": "no_row"}
    return ScanResult(rows=[rows[k] for k in sorted(rows)], problems=problems)


def _transcript(folder: Path, utt_id: str, problems: list[str]) -> str:
    path = folder / f"{utt_id}.txt"
    if not path.is_file():
        return ""
    try:
        return " ".join(path.read_text(encoding="utf-8", errors="replace").split())
    except OSError as err:
        problems.append(f"{path}: cannot read transcript ({err.strerror})")
        return ""

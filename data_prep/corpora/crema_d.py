"""CREMA-D adapter: ``ser-prepare crema_d /path/to/CREMA-D``.

Layout: ``AudioWAV/`` with 7,442 clips (16 kHz mono) and ``VideoDemographics.csv`` at the top
of the release (columns ``ActorID,Age,Sex,Race,Ethnicity``, Sex ``Male``/``Female``);
``<path>`` may be the release folder or ``AudioWAV/`` itself (the csv is then looked for
beside it). Names ``1001_DFA_ANG_XX.wav``:
- actor 1001-1091 (the speaker; gender from VideoDemographics.csv);
- sentence code, one of 12 fixed sentences (``TEXTS``);
- emotion (the label): ANG anger, DIS disgust, FEA fear, HAP happy, NEU neutral, SAD sad;
- level LO low, MD medium, HI high, XX unspecified - not kept.

Traps: without VideoDemographics.csv every gender is "" (one problem line); a few clips of the
public release are empty or corrupt (e.g. ``1076_MTI_SAD_XX.wav``): the pipeline's audio check
marks them, this adapter does not open audio. utt_id = stem (unique in the corpus).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from data_prep.corpora.common import (ScanResult, file_row, folder_with_named_wavs,
                                     source_directory, wav_files)
from data_prep.errors import SourceError

NAME = "crema-d"
LABELS = frozenset({"ANG", "DIS", "FEA", "HAP", "NEU", "SAD"})
LEVELS = frozenset({"LO", "MD", "HI", "XX"})
DEMOGRAPHICS = "VideoDemographics.csv"
SEX = {"male": "M", "female": "F"}
TEXTS = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}

FILE_NAME = re.compile(
    r"^(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>[A-Z]{3})_(?P<level>[A-Z]{2})$")


def validate_source(source: Path) -> Path:
    """The ``AudioWAV`` folder (``<source>/AudioWAV`` or ``<source>``), or SourceError."""
    source = source_directory(source)
    folder = folder_with_named_wavs(source, "AudioWAV", FILE_NAME)
    if folder is not None:
        return folder
    raise SourceError(f"{source}: not a CREMA-D release (no AudioWAV/1001_DFA_ANG_XX.wav files)")


def read_demographics(path: Path, problems: list[str]) -> dict[str, str]:
    """ActorID -> "M"/"F" from VideoDemographics.csv; {} (and a problem) when unusable."""
    if not path.is_file():
        problems.append(f"{path}: missing; genders left empty")
        return {}
    genders: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not {"ActorID", "Sex"} <= set(reader.fieldnames or ()):
            problems.append(f"{path}: no ActorID/Sex columns; genders left empty")
            return {}
        for number, record in enumerate(reader, 2):
            sex = SEX.get((record["Sex"] or "").strip().lower())
            if sex is None:
                problems.append(f"{path}:{number}: sex {record['Sex']!r} is not Male/Female")
                continue
            genders[(record["ActorID"] or "").strip()] = sex
    return genders


def scan(source: str | Path, corpus: str = NAME) -> ScanResult:
    """Manifest rows (before audio checks) for every wav of the release."""
    source = Path(source).resolve()
    audio_dir = validate_source(source)
    problems: list[str] = []
    release = audio_dir.parent if audio_dir.name == "AudioWAV" else audio_dir
    genders = read_demographics(release / DEMOGRAPHICS, problems)
    rows = [_row(wav, genders, corpus, problems) for wav in wav_files(audio_dir, problems)]
    if genders:
        unknown = sorted({r["speaker"] for r in rows if r["speaker"] and not r["gender"]})
        for actor in unknown:
            problems.append(f"{release / DEMOGRAPHICS}: actor {actor} not listed; gender empty")
    return ScanResult(rows=rows, problems=problems)


def _row(wav: Path, genders: dict[str, str], corpus: str, problems: list[str]) -> dict:
    row = file_row(wav, corpus, "acted")
    match = FILE_NAME.match(wav.stem)
    if not match:
        problems.append(f"{wav}: name does not follow <actor>_<sentence>_<emotion>_<level>.wav")
        row["status"] = "bad_filename"
        return row
    actor = match["actor"]
    row.update(speaker=actor, gender=genders.get(actor, ""), label=match["emotion"],
               text=TEXTS.get(match["sentence"], ""))
    if match["sentence"] not in TEXTS:
        problems.append(f"{wav}: sentence code {match['sentence']} is not one of the 12")
    if match["level"] not in LEVELS:
        problems.append(f"{wav}: level {match['level']} is not one of LO MD HI XX")
    if match["emotion"] not in LABELS:
        problems.append(f"{wav}: emotion {match['emotion']} is not one of ANG DIS FEA HAP NEU SAD")
        row["status"] = "unknown_label"
    return row

"""TESS (Toronto Emotional Speech Set) adapter: ``ser-prepare tess /path/to/TESS``.

Layout: one folder per speaker and emotion (``OAF_angry``, ``OAF_Fear``, ``YAF_pleasant_surprised``
...), 200 files each, 2,800 in all, 24.4 kHz mono. Some copies nest the 14 folders one level
deeper (``TESS Toronto emotional speech set data/``): every wav under ``<path>`` is read.
Names ``<speaker>_<word>_<emotion>.wav``, e.g. ``OAF_back_angry.wav``: the carrier phrase is
"Say the word <word>" (the text). Speakers OAF (older) and YAF (younger), both female.

Traps: spellings vary between folders and files (``Fear``/``fear``, ``ps``,
``pleasant_surprise``, ``pleasant_surprised``, ``Pleasant_surprise``): matching is
case-insensitive and every spelling of pleasant surprise becomes ``ps``. The label comes from
the file name; a folder whose emotion or speaker disagrees is reported. Labels: angry, disgust,
fear, happy, neutral, ps, sad. utt_id = stem (speaker and word make it unique).
"""
from __future__ import annotations

import re
from pathlib import Path

from data_prep.corpora.common import ScanResult, file_row, source_directory
from data_prep.errors import SourceError

NAME = "tess"
SPEAKERS = ("OAF", "YAF")   # both female
LABELS = frozenset({"angry", "disgust", "fear", "happy", "neutral", "ps", "sad"})
PLEASANT_SURPRISE = re.compile(r"^(?:ps|pleasant_surprised?)$", re.IGNORECASE)

FILE_NAME = re.compile(r"^(?P<speaker>[a-z]+)_(?P<word>[a-z']+)_(?P<emotion>[a-z_]+)$",
                       re.IGNORECASE)
FOLDER_NAME = re.compile(r"^(?P<speaker>[a-z]+)_(?P<emotion>[a-z_]+)$", re.IGNORECASE)


def validate_source(source: Path) -> list[Path]:
    """The wav files of the release, or SourceError when there is no OAF_/YAF_ wav."""
    source = source_directory(source)
    wavs = sorted(p for p in source.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
    if not any(p.name.upper().startswith(SPEAKERS) for p in wavs):
        raise SourceError(f"{source}: not a TESS release (no OAF_*/YAF_* wav files)")
    return wavs


def normalise_emotion(emotion: str) -> str:
    """``Fear`` -> ``fear``; every spelling of pleasant surprise -> ``ps``."""
    return "ps" if PLEASANT_SURPRISE.match(emotion) else emotion.lower()


def scan(source: str | Path, corpus: str = NAME) -> ScanResult:
    """Manifest rows (before audio checks) for every wav of the release."""
    source = Path(source).resolve()
    problems: list[str] = []
    rows = []
    for wav in validate_source(source):
        if wav.name.startswith("._"):
            problems.append(f"{wav}: macOS resource-fork file, not audio; ignored")
        elif not wav.name.startswith("."):
            rows.append(_row(wav, corpus, problems))
    return ScanResult(rows=rows, problems=problems)


def _row(wav: Path, corpus: str, problems: list[str]) -> dict:
    row = file_row(wav, corpus, "acted")
    match = FILE_NAME.match(wav.stem)
    if not match or match["speaker"].upper() not in SPEAKERS:
        problems.append(f"{wav}: name does not follow <OAF|YAF>_<word>_<emotion>.wav")
        row["status"] = "bad_filename"
        return row
    speaker, emotion = match["speaker"].upper(), normalise_emotion(match["emotion"])
    row.update(speaker=speaker, gender="F", label=emotion,
               text=f"Say the word {match['word'].lower()}")
    folder = FOLDER_NAME.match(wav.parent.name)
    if folder and folder["speaker"].upper() in SPEAKERS and (
            folder["speaker"].upper() != speaker
            or normalise_emotion(folder["emotion"]) != emotion):
        problems.append(f"{wav}: name disagrees with folder {wav.parent.name}; kept the name's")
    if emotion not in LABELS:
        problems.append(f"{wav}: emotion {match['emotion']} is not a TESS emotion")
        row["status"] = "unknown_label"
    return row

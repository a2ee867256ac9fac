"""URDU adapter: ``ser-prepare urdu /path/to/URDU-Dataset``.

The URDU corpus (Latif et al. 2018, "Cross Lingual Speech Emotion Recognition: Urdu vs. Western
Languages"): 400 utterances cut from Urdu talk shows, 44.1 kHz mono, research use only.

Layout: ``Angry/ Happy/ Neutral/ Sad/`` (100 files each) and ``README.md`` at the top.
Names ``SGX_FXX_EYY.wav``, e.g. ``SM1_F01_A12.wav`` (README.md of the release):
- ``S`` + G gender (``M``/``F``) + X speaker number, the same for a speaker in every emotion;
- ``F`` + XX: the speaker's file number;
- E emotion letter (A angry, H happy, N neutral, S sad) + YY: the file's number in that emotion.

Traps handled here:
- Speaker numbers restart per gender (``SM1`` and ``SF1`` are two people), so the speaker id is
  gender letter + number as written (``SM1``). The released files hold 29 speakers (18 M, 11 F);
  the README says 38 (27 M): male numbers 8-16 do not occur.
- Numbers are not zero-padded consistently (``SM1_F2_A02``, ``SM1_F19_A019``): the stem is
  kept as utt_id, numbers are parsed as integers only for checks.
- The label is the folder name lower-cased (angry/happy/neutral/sad); a name whose emotion
  letter disagrees with its folder is reported as a problem and keeps the folder's label.
- Talk-show speech is not acted: scenario ``natural``. There is no transcript.
"""
from __future__ import annotations

import re
from pathlib import Path

from data_prep.corpora.common import ScanResult, source_directory
from data_prep.errors import SourceError

NAME = "urdu"
LABELS = ("angry", "happy", "neutral", "sad")
LETTER_OF = {"angry": "A", "happy": "H", "neutral": "N", "sad": "S"}

FILE_NAME = re.compile(
    r"^S(?P<gender>[MF])(?P<speaker_number>\d+)_F(?P<file_number>\d+)"
    r"_(?P<emotion>[AHNS])(?P<emotion_number>\d+)$")


def validate_source(source: Path) -> list[Path]:
    """The emotion folders of the release, or SourceError when there are none."""
    source = source_directory(source)
    folders = [p for p in sorted(source.iterdir()) if p.is_dir() and p.name.lower() in LABELS]
    if not folders:
        raise SourceError(f"{source}: not an URDU release (no Angry/Happy/Neutral/Sad folders)")
    return folders


def scan(source: str | Path, corpus: str = NAME) -> ScanResult:
    """Manifest rows (before audio checks) for every wav of the release."""
    source = Path(source).resolve()
    folders = validate_source(source)
    problems: list[str] = []
    present = {p.name.lower() for p in folders}
    for missing in LABELS:
        if missing not in present:
            problems.append(f"{source / missing.capitalize()}: emotion folder missing")
    rows: list[dict] = []
    for wav in sorted(p for p in source.rglob("*") if p.is_file()):
        if wav.suffix.lower() != ".wav":
            continue  # README.md, .DS_Store, ...
        if wav.name.startswith("._"):
            problems.append(f"{wav}: macOS resource-fork file, not audio; ignored")
            continue
        if wav.name.startswith("."):
            continue
        rows.append(_row(wav, source, corpus, problems))
    return ScanResult(rows=rows, problems=problems)


def _row(wav: Path, source: Path, corpus: str, problems: list[str]) -> dict:
    folder = wav.parent.name.lower() if wav.parent != source else ""
    row = {
        "utt_id": wav.stem, "corpus": corpus, "audio_path": str(wav),
        "start_s": None, "end_s": None, "speaker": "", "gender": "", "session": "",
        "dialog": "", "scenario": "natural", "text": "", "label": folder,
        "valence": None, "arousal": None, "dominance": None, "split": "", "status": "ok",
    }
    match = FILE_NAME.match(wav.stem)
    if not match:
        problems.append(f"{wav}: name does not follow SGX_FXX_EYY.wav")
        row.update(label="", status="bad_filename")
        return row
    row["speaker"] = f"S{match['gender']}{int(match['speaker_number'])}"
    row["gender"] = match["gender"]
    if folder not in LABELS:
        problems.append(f"{wav}: not inside an Angry/Happy/Neutral/Sad folder")
        row["status"] = "unknown_label"
    elif LETTER_OF[folder] != match["emotion"]:
        problems.append(f"{wav}: emotion letter {match['emotion']} disagrees with folder "
                        f"{wav.parent.name}; kept the folder's label")
    return row

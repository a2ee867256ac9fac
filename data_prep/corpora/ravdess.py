"""RAVDESS (speech part) adapter: ``ser-prepare ravdess /path/to/Audio_Speech_Actors_01-24``.

Layout: ``Actor_01 .. Actor_24/`` (the song zip unpacks to the same folder names), 60 speech
files per actor, 1,440 in all, 48 kHz, 16-bit, some stereo (the pipeline downmixes).
Names ``MM-VV-EE-II-SS-RR-AA.wav`` (RAVDESS README, Livingstone & Russo 2018):
- MM modality: 01 full-AV, 02 video-only, 03 audio-only (every ``.wav`` should be 03);
- VV vocal channel: 01 speech, 02 song;
- EE emotion (the label, kept as the two-digit code): 01 neutral, 02 calm, 03 happy, 04 sad,
  05 angry, 06 fearful, 07 disgust, 08 surprised;
- II intensity: 01 normal, 02 strong (neutral has no strong) - not kept;
- SS statement: 01 "Kids are talking by the door", 02 "Dogs are sitting by the door" (text);
- RR repetition: 01, 02 - not kept;
- AA actor 01-24 (the speaker); odd = male, even = female.

Traps: a file whose actor differs from its ``Actor_NN`` folder keeps the actor of the name
and is reported; song files (VV 02) are rows with status not_speech; a wav whose modality is
not 03 is a row with status not_audio_only. The stem is unique in the corpus: utt_id = stem.
"""
from __future__ import annotations

import re
from pathlib import Path

from data_prep.corpora.common import ScanResult, file_row, source_directory, wav_files
from data_prep.errors import SourceError

NAME = "ravdess"
LABELS = frozenset(f"{i:02d}" for i in range(1, 9))
TEXTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}

FILE_NAME = re.compile(
    r"^(?P<modality>\d{2})-(?P<vocal_channel>\d{2})-(?P<emotion>\d{2})-(?P<intensity>\d{2})"
    r"-(?P<statement>\d{2})-(?P<repetition>\d{2})-(?P<actor>\d{2})$")
ACTOR_DIR = re.compile(r"^Actor_(?P<actor>\d{2})$", re.IGNORECASE)


def validate_source(source: Path) -> list[Path]:
    """The ``Actor_NN`` folders of the release, or SourceError when there are none."""
    source = source_directory(source)
    actors = sorted(p for p in source.iterdir() if p.is_dir() and ACTOR_DIR.match(p.name))
    if not actors:
        raise SourceError(f"{source}: not a RAVDESS release (no Actor_01..Actor_24 folders)")
    return actors


def scan(source: str | Path, corpus: str = NAME) -> ScanResult:
    """Manifest rows (before audio checks) for every wav of the release."""
    source = Path(source).resolve()
    actors = validate_source(source)
    problems: list[str] = []
    present = {int(ACTOR_DIR.match(p.name)["actor"]) for p in actors}
    for missing in sorted(set(range(1, 25)) - present):
        problems.append(f"{source / f'Actor_{missing:02d}'}: actor folder missing")
    rows = []
    for folder in actors:
        for wav in wav_files(folder, problems):
            rows.append(_row(wav, ACTOR_DIR.match(folder.name)["actor"], corpus, problems))
    return ScanResult(rows=rows, problems=problems)


def _row(wav: Path, folder_actor: str, corpus: str, problems: list[str]) -> dict:
    row = file_row(wav, corpus, "acted")
    match = FILE_NAME.match(wav.stem)
    if not match:
        problems.append(f"{wav}: name does not follow MM-VV-EE-II-SS-RR-AA.wav")
        row["status"] = "bad_filename"
        return row
    actor = match["actor"]
    row.update(speaker=actor, gender="M" if int(actor) % 2 else "F", label=match["emotion"],
               text=TEXTS.get(match["statement"], ""))
    if actor != folder_actor:
        problems.append(f"{wav}: actor {actor} in the name but folder Actor_{folder_actor}; "
                        f"kept the name's actor")
    if match["statement"] not in TEXTS:
        problems.append(f"{wav}: statement code {match['statement']} is not 01 or 02")
    if match["emotion"] not in LABELS:
        problems.append(f"{wav}: emotion code {match['emotion']} is not one of 01..08")
        row["status"] = "unknown_label"
    elif match["vocal_channel"] != "01":
        problems.append(f"{wav}: vocal channel {match['vocal_channel']} (02 = song), not speech")
        row["status"] = "not_speech"
    elif match["modality"] != "03":
        problems.append(f"{wav}: modality {match['modality']} in the name of a wav "
                        f"(03 = audio-only expected)")
        row["status"] = "not_audio_only"
    return row

"""SAVEE (Surrey Audio-Visual Expressed Emotion) adapter: ``ser-prepare savee /path/to/SAVEE``.

Layout: ``AudioData/<DC|JE|JK|KL>/`` (4 male speakers, 120 files each, 480 in all, 44.1 kHz);
``<path>`` may be the release folder or ``AudioData/`` itself. Other folders of the release
(``AudioVisualClip/``, ``Annotation/``...) and ``info.txt`` files are ignored.
Names ``<emotion><number>.wav``: emotion prefix a anger, d disgust, f fear, h happiness,
n neutral, sa sadness, su surprise (the label), then a two-digit number (neutral has 30 per
speaker, the others 15). The sentences are TIMIT sentences not encoded in the name: text "".

Traps: ``sa``/``su`` share the first letter with nothing else, so the regex takes the longest
prefix; stems repeat across speakers, so utt_id = speaker + ``_`` + stem (``DC_a01``).
A folder other than the four speakers keeps its name as speaker, gender "" and a problem line.
"""
from __future__ import annotations

import re
from pathlib import Path

from data_prep.corpora.common import ScanResult, source_directory, wav_files
from data_prep.errors import SourceError

NAME = "savee"
SPEAKERS = ("DC", "JE", "JK", "KL")   # all male
LABELS = frozenset({"a", "d", "f", "h", "n", "sa", "su"})

FILE_NAME = re.compile(r"^(?P<emotion>sa|su|[a-z])(?P<number>\d+)$")


def validate_source(source: Path) -> Path:
    """The ``AudioData`` folder (``<source>/AudioData`` or ``<source>``), or SourceError."""
    source = source_directory(source)
    for folder in (source / "AudioData", source):
        if any((folder / s).is_dir() for s in SPEAKERS):
            return folder
    raise SourceError(f"{source}: not a SAVEE release (no AudioData/DC|JE|JK|KL folders)")


def scan(source: str | Path, corpus: str = NAME) -> ScanResult:
    """Manifest rows (before audio checks) for every wav of the release."""
    source = Path(source).resolve()
    audio_dir = validate_source(source)
    problems: list[str] = []
    for missing in SPEAKERS:
        if not (audio_dir / missing).is_dir():
            problems.append(f"{audio_dir / missing}: speaker folder missing")
    rows = []
    for folder in sorted(p for p in audio_dir.iterdir() if p.is_dir()):
        for wav in wav_files(folder, problems):
            rows.append(_row(wav, folder.name, corpus, problems))
    return ScanResult(rows=rows, problems=problems)


def _row(wav: Path, speaker: str, corpus: str, problems: list[str]) -> dict:
    row = {
        "utt_id": f"{speaker}_{wav.stem}", "corpus": corpus, "audio_path": str(wav),
        "start_s": None, "end_s": None, "speaker": speaker,
        "gender": "M" if speaker in SPEAKERS else "", "session": "",
        "dialog": "", "scenario": "acted", "text": "", "label": "",
        "valence": None, "arousal": None, "dominance": None, "split": "", "status": "ok",
    }
    if speaker not in SPEAKERS:
        problems.append(f"{wav}: folder {speaker} is not one of SAVEE's speakers; gender unknown")
    match = FILE_NAME.match(wav.stem)
    if not match:
        problems.append(f"{wav}: name does not follow <emotion><number>.wav")
        row["status"] = "bad_filename"
        return row
    row["label"] = match["emotion"]
    if match["emotion"] not in LABELS:
        problems.append(f"{wav}: emotion prefix {match['emotion']} is not one of a d f h n sa su")
        row["status"] = "unknown_label"
    return row

"""EmoDB (Berlin Database of Emotional Speech) adapter: ``ser-prepare emodb /path/to/emodb``.

Layout: ``wav/`` with 535 files, 16 kHz mono (``lablaut/``, ``labsilb/``, ``silb/`` and other
folders of the release are ignored). ``<path>`` may be the release folder or ``wav/`` itself.
Names ``03a01Fa.wav``:
- speaker, 2 digits (03 08 09 10 11 12 13 14 15 16; 03 10 11 12 15 are male);
- text code a01-a07, b01-b03, b09, b10: one of ten fixed German sentences (``TEXTS``);
- emotion letter (the label): W anger (Wut), L boredom (Langeweile), E disgust (Ekel),
  A fear (Angst), F happiness (Freude), T sadness (Trauer), N neutral;
- version letter a, b, c... (several takes of the same sentence and emotion; not kept).

Traps: a speaker not in the documented ten gets gender "" and a problem line; a text code not in
the list keeps text "" and a problem line; an emotion letter outside WLEAFTN is unknown_label.
"""
from __future__ import annotations

import re
from pathlib import Path

from data_prep.corpora.common import (ScanResult, file_row, folder_with_named_wavs,
                                     source_directory, wav_files)
from data_prep.errors import SourceError

NAME = "emodb"
LABELS = frozenset("WLEAFTN")
MALE = frozenset({"03", "10", "11", "12", "15"})
FEMALE = frozenset({"08", "09", "13", "14", "16"})
# The ten sentences of the EmoDB documentation (Burkhardt et al. 2005), by text code.
# Wording unverified against the release's own documentation (no copy here).
TEXTS = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}

FILE_NAME = re.compile(
    r"^(?P<speaker>\d{2})(?P<text>[ab]\d{2})(?P<emotion>[A-Z])(?P<version>[a-z])$")


def validate_source(source: Path) -> Path:
    """The folder holding the wavs (``<source>/wav`` or ``<source>``), or SourceError."""
    source = source_directory(source)
    folder = folder_with_named_wavs(source, "wav", FILE_NAME)
    if folder is not None:
        return folder
    raise SourceError(f"{source}: not an EmoDB release (no wav/03a01Fa.wav-style files)")


def scan(source: str | Path, corpus: str = NAME) -> ScanResult:
    """Manifest rows (before audio checks) for every wav of the release."""
    source = Path(source).resolve()
    wav_dir = validate_source(source)
    problems: list[str] = []
    rows = [_row(wav, corpus, problems) for wav in wav_files(wav_dir, problems)]
    return ScanResult(rows=rows, problems=problems)


def _row(wav: Path, corpus: str, problems: list[str]) -> dict:
    row = file_row(wav, corpus, "acted")
    match = FILE_NAME.match(wav.stem)
    if not match:
        problems.append(f"{wav}: name does not follow <speaker><text><emotion><version>.wav")
        row["status"] = "bad_filename"
        return row
    speaker, text = match["speaker"], match["text"]
    row.update(speaker=speaker, label=match["emotion"], text=TEXTS.get(text, ""),
               gender="M" if speaker in MALE else "F" if speaker in FEMALE else "")
    if not row["gender"]:
        problems.append(f"{wav}: speaker {speaker} is not one of EmoDB's ten; gender unknown")
    if text not in TEXTS:
        problems.append(f"{wav}: text code {text} is not one of EmoDB's ten sentences")
    if match["emotion"] not in LABELS:
        problems.append(f"{wav}: emotion letter {match['emotion']} is not one of WLEAFTN")
        row["status"] = "unknown_label"
    return row

"""ASVP-ESD adapter: ``ser-prepare asvp_esd /path/to/ASVP-ESD-Update``.

The Audio, Speech and Vision Processing Lab Emotional Sound Database (Landry, He, Xie; South
China University of Technology; Zenodo records 3782416 / 5573185): speech and non-speech
emotional sounds from movies, TV shows, YouTube and sound websites, several languages,
not scripted (scenario ``natural``).

Layout: every ``.wav`` under ``<path>`` is read (releases put them in ``Audio/`` and
sub-folders per actor, e.g. ``ASVP-ESD-Update/Audio/actor_01/``; the folder names are not
used). Names are hyphen-separated two-digit fields, ``03-01-06-01-02-12-02-01-01-16.wav``;
the field list below is from the README text quoted by public parsers (the Zenodo page lists
55 folders, "odd folder number for female"). None of it could be checked against a copy of
the corpus here:
1. modality: 03 audio-only;
2. vocal channel: 01 speech, 02 non-speech (status not_speech);
3. emotion (the label, kept as the code): 01 boredom/sigh, 02 neutral/calm, 03 happy/laugh,
   04 sad/cry, 05 angry/grunt/frustration, 06 fearful/scream/panic, 07 disgust/dislike/contempt,
   08 surprised/gasp/amazed, 09 excited, 10 pleasure, 11 pain/groan, 12 disappointment;
   13 breath appears in one copy of the README only (unverified) and is accepted;
4. intensity: 01 normal, 02 high - not kept;
5. statement: not scripted; a rank grouping clips from the same source/period - not kept;
6. actor (the speaker): even = male, odd = female (unverified; note: the opposite of RAVDESS);
7. age: 01 above 65, 02 20-64, 03 under 20, 04 baby (unverified) - not kept;
8. source: 01-02 website/YouTube, 03 movies (unverified) - not kept;
9. language: 01 Chinese, 02 English, 04 French, others Russian/other (unverified; codes differ
   between copies) - not kept; not every file has it;
10. last field: similarity with other emotions; 77 = noisy environment, 66 = mixed voices
   (unverified) - not kept.
Fields 7-10 are optional here; a name with fewer than 6 fields is bad_filename.

Traps: the same stem may appear in two folders: the second gets the folder name as prefix
(``actor_02_03-01-...``) and a problem line. kakuba2023 uses 13,829 samples and 6 emotions:
that selection is a protocol decision, not made here.
"""
from __future__ import annotations

import re
from pathlib import Path

from data_prep.corpora.common import ScanResult, file_row, source_directory
from data_prep.errors import SourceError

NAME = "asvp-esd"
LABELS = frozenset(f"{i:02d}" for i in range(1, 14))

FILE_NAME = re.compile(
    r"^(?P<modality>\d{2})-(?P<vocal_channel>\d{2})-(?P<emotion>\d{2})-(?P<intensity>\d{2})"
    r"-(?P<statement>\d+)-(?P<actor>\d+)(?:-(?P<age>\d{2}))?(?:-(?P<source>\d{2}))?"
    r"(?:-(?P<language>\d{2}))?(?P<rest>(?:-\d+)*)$")


def validate_source(source: Path) -> list[Path]:
    """The wav files of the release, or SourceError when none is named like ASVP-ESD's."""
    source = source_directory(source)
    wavs = sorted(p for p in source.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
    if not any(FILE_NAME.match(p.stem) for p in wavs):
        raise SourceError(f"{source}: not an ASVP-ESD release (no 03-01-06-01-02-12-...wav files)")
    return wavs


def scan(source: str | Path, corpus: str = NAME) -> ScanResult:
    """Manifest rows (before audio checks) for every wav of the release."""
    source = Path(source).resolve()
    problems: list[str] = []
    rows: list[dict] = []
    seen: set[str] = set()
    for wav in validate_source(source):
        if wav.name.startswith("._"):
            problems.append(f"{wav}: macOS resource-fork file, not audio; ignored")
            continue
        if wav.name.startswith("."):
            continue
        row = _row(wav, corpus, problems)
        if row["utt_id"] in seen:
            row["utt_id"] = f"{wav.parent.name}_{wav.stem}"
            problems.append(f"{wav}: stem already seen in another folder; utt_id {row['utt_id']}")
        seen.add(row["utt_id"])
        rows.append(row)
    return ScanResult(rows=rows, problems=problems)


def _row(wav: Path, corpus: str, problems: list[str]) -> dict:
    row = file_row(wav, corpus, "natural")
    match = FILE_NAME.match(wav.stem)
    if not match:
        problems.append(f"{wav}: name does not follow MM-VV-EE-II-SS-AA[-...].wav")
        row["status"] = "bad_filename"
        return row
    actor = match["actor"]
    row.update(speaker=actor, gender="M" if int(actor) % 2 == 0 else "F", label=match["emotion"])
    if match["emotion"] not in LABELS:
        problems.append(f"{wav}: emotion code {match['emotion']} is not one of 01..13")
        row["status"] = "unknown_label"
    elif match["vocal_channel"] != "01":
        problems.append(f"{wav}: vocal channel {match['vocal_channel']} (02 = non-speech)")
        row["status"] = "not_speech"
    elif match["modality"] != "03":
        problems.append(f"{wav}: modality {match['modality']} (03 = audio-only expected)")
        row["status"] = "not_audio_only"
    return row

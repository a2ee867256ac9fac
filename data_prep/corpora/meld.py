"""MELD adapter: ``ser-prepare meld /path/to/MELD.Raw``.

Reads the release as distributed (``MELD.Raw``, tarballs unpacked in place): the three label
CSVs and the three folders of video clips; audio is decoded from the mp4 later by
:func:`data_prep.audio.read_audio` (PyAV). One manifest row per CSV row, plus one row (status
``no_row``) per clip that no CSV row names, so nothing is dropped silently.

Written to the manifest:
- ``utt_id`` ``<part>_dia<D>_utt<U>`` with part train / dev / test (``train_dia125_utt3``);
  ``dialog`` ``<part>_dia<D>``; ``split`` train / validation / test (the official CSVs).
- ``speaker``: the Speaker column (a character name: the same actor across dialogues);
  ``gender``, ``session``, ``scenario``: empty (MELD has none).
- ``text``: the Utterance column, curly quotes normalised (``’ ‘`` -> ``'``, ``“ ”`` -> ``"``),
  cp1252 stray bytes decoded, whitespace collapsed.
- ``label``: the Emotion column, MELD's own string (neutral joy sadness anger surprise fear
  disgust); ``start_s``/``end_s`` empty (StartTime/EndTime are positions in the EPISODE, the
  clip already is the utterance).

Traps handled here:
- The CSVs are mostly UTF-8 with some cp1252 bytes (``\\x92`` apostrophes): decoded line by line.
- ``Sr No.`` has gaps (never used as an id); times come as ``00:12:43,012`` or ``0:12:43,012``
  (not used).
- Some test clips are named ``final_videos_testdia<D>_utt<U>.mp4``: both spellings are
  accepted; when both exist the unprefixed one is used and the other reported.
- macOS ``._*`` files are ignored.
- Known defects (CORPORA.md): train ``dia125_utt3.mp4`` is corrupt -> status
  ``known_corrupt``; dev ``dia110_utt7`` is missing -> ``missing_audio`` like any absent clip.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from data_prep.corpora.common import ScanResult, source_directory
from data_prep.errors import SourceError

NAME = "meld"
# part -> (label CSV, media folder, manifest split, official number of utterances)
PARTS = {
    "train": ("train_sent_emo.csv", "train_splits", "train", 9989),
    "dev": ("dev_sent_emo.csv", "dev_splits_complete", "validation", 1109),
    "test": ("test_sent_emo.csv", "output_repeated_splits_test", "test", 2610),
}
EMOTIONS = frozenset("neutral joy sadness anger surprise fear disgust".split())
KNOWN_CORRUPT = frozenset({"train_dia125_utt3"})
CLIP_NAME = re.compile(r"^(?P<prefix>final_videos_test)?dia(?P<dia>\d+)_utt(?P<utt>\d+)\.mp4$",
                       re.IGNORECASE)
INTEGER = re.compile(r"^\s*(?P<value>\d+)\s*$")
QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201b": "'", "\u02bc": "'",
                        "\u201c": '"', "\u201d": '"', "\x92": "'", "\x91": "'",
                        "\x93": '"', "\x94": '"', "\xa0": " "})
REQUIRED_COLUMNS = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")


def validate_source(source: Path) -> dict[str, Path]:
    """The folder holding the label CSVs (the source or one level down) per part."""
    source = source_directory(source)
    found = {}
    for part, (csv_name, _, _, _) in PARTS.items():
        for candidate in [source / csv_name, *sorted(source.glob(f"*/{csv_name}"))]:
            if candidate.is_file():
                found[part] = candidate
                break
    if not found:
        raise SourceError(f"{source}: not a MELD release (no train_sent_emo.csv, "
                          "dev_sent_emo.csv or test_sent_emo.csv)")
    return found


def normalise_text(text: str) -> str:
    return " ".join(text.translate(QUOTES).split())


def _decode(raw: bytes) -> str:
    """UTF-8, falling back to cp1252 for the lines that are not (MELD has stray bytes)."""
    lines = []
    for line in raw.splitlines(keepends=True):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(line.decode("cp1252", errors="replace"))
    return "".join(lines).lstrip("\ufeff")


def read_csv(path: Path, problems: list[str]) -> list[tuple[int, dict]]:
    """(line number, row) of a MELD label CSV."""
    try:
        text = _decode(path.read_bytes())
    except OSError as err:
        problems.append(f"{path}: cannot read label file ({err.strerror})")
        return []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = [f.strip() for f in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in fields]
    if missing:
        problems.append(f"{path}: not a MELD label file (missing columns {', '.join(missing)})")
        return []
    reader.fieldnames = fields
    return [(reader.line_num, row) for row in reader]


def find_clips(media_dir: Path, part: str, problems: list[str]) -> dict[tuple[int, int], Path]:
    """(dialogue, utterance) -> clip, preferring ``diaD_uttU.mp4`` over the prefixed name."""
    clips: dict[tuple[int, int], Path] = {}
    if not media_dir.is_dir():
        return clips
    for path in sorted(media_dir.iterdir(), key=lambda p: (p.name.lower().startswith("final"),
                                                           p.name)):
        if path.name.startswith(".") or not path.is_file():
            continue
        match = CLIP_NAME.match(path.name)
        if not match:
            if path.suffix.lower() == ".mp4":
                problems.append(f"{path}: clip name does not follow dia<D>_utt<U>.mp4; ignored")
            continue
        key = (int(match["dia"]), int(match["utt"]))
        if key in clips:
            problems.append(f"{path}: duplicate clip for {part}_dia{key[0]}_utt{key[1]}; "
                            f"used {clips[key].name}")
            continue
        clips[key] = path
    return clips


def _media_dir(csv_path: Path | None, source: Path, name: str) -> Path:
    for base in ([csv_path.parent] if csv_path else []) + [source]:
        if (base / name).is_dir():
            return base / name
    for candidate in sorted(source.glob(f"*/{name}")):
        if candidate.is_dir():
            return candidate
    return source / name


def scan(source: str | Path, corpus: str = NAME) -> ScanResult:
    """Manifest rows (before audio checks) for every utterance and clip of the release."""
    source = Path(source).resolve()
    csvs = validate_source(source)
    problems: list[str] = []
    rows: dict[str, dict] = {}
    for part, (csv_name, media_name, split, official) in PARTS.items():
        csv_path = csvs.get(part)
        media_dir = _media_dir(csv_path, source, media_name)
        if csv_path is None:
            problems.append(f"{source / csv_name}: label file missing")
        if not media_dir.is_dir():
            problems.append(f"{media_dir}: media folder missing")
        clips = find_clips(media_dir, part, problems)
        named: set[tuple[int, int]] = set()
        n_rows = 0
        for line, record in (read_csv(csv_path, problems) if csv_path else []):
            dia = INTEGER.match(record.get("Dialogue_ID") or "")
            utt = INTEGER.match(record.get("Utterance_ID") or "")
            if not dia or not utt:
                problems.append(f"{csv_path}:{line}: malformed Dialogue_ID/Utterance_ID; "
                                "row skipped")
                continue
            key = (int(dia["value"]), int(utt["value"]))
            utt_id = f"{part}_dia{key[0]}_utt{key[1]}"
            if utt_id in rows:
                problems.append(f"{csv_path}:{line}: duplicate row for {utt_id}; kept the first")
                continue
            named.add(key)
            n_rows += 1
            clip = clips.get(key, media_dir / f"dia{key[0]}_utt{key[1]}.mp4")
            row = _row(utt_id, corpus, part, split, clip)
            row["speaker"] = (record.get("Speaker") or "").strip()
            row["text"] = normalise_text(record.get("Utterance") or "")
            label = (record.get("Emotion") or "").strip()
            label = label.lower() if label.lower() in EMOTIONS else label
            row["label"] = label
            if key not in clips:
                row["status"] = "missing_audio"
                problems.append(f"{clip}: clip missing for {csv_path.name}:{line}")
            elif utt_id in KNOWN_CORRUPT:
                row["status"] = "known_corrupt"
                problems.append(f"{clip}: known corrupt clip (MELD release defect)")
            elif not label:
                row["status"] = "no_label"
                problems.append(f"{csv_path}:{line}: no emotion for {utt_id}")
            elif label not in EMOTIONS:
                row["status"] = "unknown_label"
                problems.append(f"{csv_path}:{line}: unknown emotion {label!r} for {utt_id}")
            rows[utt_id] = row
        if csv_path is not None and n_rows != official:
            problems.append(f"{csv_path}: {n_rows} utterances, the official release has "
                            f"{official}")
        for key in sorted(set(clips) - named):
            utt_id = f"{part}_dia{key[0]}_utt{key[1]}"
            row = _row(utt_id, corpus, part, split, clips[key])
            row.update(status="no_row", label="")
            problems.append(f"{clips[key]}: clip named by no row of {csv_name}")
            rows[utt_id] = row
    return ScanResult(rows=[rows[k] for k in sorted(rows)], problems=problems)


def _row(utt_id: str, corpus: str, part: str, split: str, clip: Path) -> dict:
    dialog = utt_id.rsplit("_", 1)[0]
    return {"utt_id": utt_id, "corpus": corpus, "audio_path": str(clip), "start_s": None,
            "end_s": None, "speaker": "", "gender": "", "session": "", "dialog": dialog,
            "scenario": "", "text": "", "label": "", "valence": None, "arousal": None,
            "dominance": None, "split": split, "status": "ok"}

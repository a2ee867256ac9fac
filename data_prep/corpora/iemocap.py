"""IEMOCAP adapter: ``ser-prepare iemocap /path/to/IEMOCAP_full_release``.

Reads the release exactly as USC distributes it (see the traps below) and returns one manifest
row per utterance found in a label file or as a sentence wav, each with a status.

Traps handled here:
- The speaker is the letter of the TURN (``Ses01F_impro01_M002`` is session 1's male actor);
  the letter after ``SesNN`` only says who wore the markers. Speaker id = ``Ses01M``.
- Dialog names carry suffixes (``Ses03M_impro05a``, ``Ses05M_script01_1b``).
- ``EmoEvaluation/`` holds sub-folders (Categorical/, Attribute/, Self-evaluation/) and, in some
  copies, macOS ``._*`` files: only ``*.txt`` files directly inside, not starting with ``.``,
  are label files.
- Transcription files contain lines that are not utterances (``..._MXX0``, noise); only lines
  whose id is an utterance of the label files are used. Tags such as ``[LAUGHTER]`` stay in the
  manifest text; text encoders decide what to do with them.
"""
from __future__ import annotations

import re
from pathlib import Path

from data_prep.corpora.common import ScanResult, source_directory
from data_prep.errors import SourceError

NAME = "iemocap"
SESSIONS = tuple(f"Session{i}" for i in range(1, 6))
# IEMOCAP's categorical codes (EmoEvaluation): xxx = no majority among the raters.
KNOWN_CODES = frozenset("neu hap sad ang exc fru fea sur dis oth xxx".split())

UTT_ID = re.compile(
    r"^(?P<dialog>Ses(?P<session>\d{2})(?P<marker>[FM])_(?P<kind>impro|script)\d{2}"
    r"(?:_\d+)?[a-z]?)_(?P<gender>[FM])(?P<turn>\d{3})$")
LABEL_LINE = re.compile(
    r"^\[(?P<start>\d+(?:\.\d+)?)\s*-\s*(?P<end>\d+(?:\.\d+)?)\]\s+(?P<utt_id>\S+)\s+"
    r"(?P<label>\S+)\s+\[(?P<val>-?\d+(?:\.\d+)?),\s*(?P<act>-?\d+(?:\.\d+)?),\s*"
    r"(?P<dom>-?\d+(?:\.\d+)?)\]\s*$")
TRANSCRIPT_LINE = re.compile(
    r"^(?P<utt_id>\S+)\s+\[(?P<start>\d+(?:\.\d+)?)-(?P<end>\d+(?:\.\d+)?)\]:\s?(?P<text>.*)$")


def validate_source(source: Path) -> list[Path]:
    """The session folders of a release, or SourceError when there are none."""
    source = source_directory(source)
    sessions = [source / s for s in SESSIONS if (source / s).is_dir()]
    if not sessions:
        raise SourceError(f"{source}: not an IEMOCAP release (no Session1..Session5 folders)")
    return sessions


def _is_label_file(path: Path) -> bool:
    return path.is_file() and path.suffix == ".txt" and not path.name.startswith(".")


def parse_label_file(path: Path, problems: list[str]) -> dict[str, dict]:
    """Utterance blocks of one EmoEvaluation file: utt_id -> start, end, label, V, A, D."""
    blocks: dict[str, dict] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as err:
        problems.append(f"{path}: cannot read label file ({err.strerror})")
        return blocks
    for number, line in enumerate(lines, 1):
        if not line.startswith("["):
            continue  # header (%), rater lines (C-E2:, A-E3:), blank lines
        match = LABEL_LINE.match(line.strip())
        if not match:
            problems.append(f"{path}:{number}: malformed label line: {line.strip()[:80]}")
            continue
        utt_id = match["utt_id"]
        if utt_id in blocks:
            problems.append(f"{path}:{number}: duplicate block for {utt_id}; kept the first")
            continue
        blocks[utt_id] = {
            "start_s": float(match["start"]), "end_s": float(match["end"]),
            "label": match["label"], "valence": float(match["val"]),
            "arousal": float(match["act"]), "dominance": float(match["dom"]),
        }
    if not blocks:
        problems.append(f"{path}: malformed label file: no utterance block found")
    return blocks


def parse_transcripts(path: Path, problems: list[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    if not path.is_file():
        problems.append(f"{path}: transcription file missing")
        return texts
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = TRANSCRIPT_LINE.match(line.strip())
        if match:
            texts.setdefault(match["utt_id"], match["text"].strip())
    return texts


def scan(source: str | Path, corpus: str = NAME) -> ScanResult:
    """Manifest rows (before audio checks) for every utterance of the release."""
    source = Path(source).resolve()
    sessions = validate_source(source)
    problems: list[str] = []
    for missing in sorted(set(SESSIONS) - {s.name for s in sessions}):
        problems.append(f"{source / missing}: session folder missing")
    rows: dict[str, dict] = {}
    for session_dir in sessions:
        labels_dir = session_dir / "dialog" / "EmoEvaluation"
        wav_root = session_dir / "sentences" / "wav"
        label_files = sorted(p for p in labels_dir.glob("*.txt") if _is_label_file(p))
        if not label_files:
            problems.append(f"{labels_dir}: no label files")
        labelled: dict[str, dict] = {}
        for label_file in label_files:
            for utt_id, block in parse_label_file(label_file, problems).items():
                labelled[utt_id] = block
        dialogs = {p.stem for p in label_files}
        dialogs |= {p.name for p in wav_root.glob("*") if p.is_dir() and not p.name.startswith(".")}
        for dialog in sorted(dialogs):
            texts = parse_transcripts(session_dir / "dialog" / "transcriptions" / f"{dialog}.txt",
                                      problems)
            wavs = {p.stem: p for p in (wav_root / dialog).glob("*.wav")
                    if not p.name.startswith(".")}
            utts = {u for u in labelled if u.startswith(dialog + "_")} | set(wavs)
            for utt_id in sorted(utts):
                if utt_id in rows:
                    continue
                row = _row(utt_id, corpus, labelled.get(utt_id),
                           wavs.get(utt_id, wav_root / dialog / f"{utt_id}.wav"),
                           texts.get(utt_id), problems)
                if row is not None:
                    rows[utt_id] = row
    return ScanResult(rows=[rows[k] for k in sorted(rows)], problems=problems)


def _row(utt_id: str, corpus: str, block: dict | None, wav: Path, text: str | None,
         problems: list[str]) -> dict | None:
    match = UTT_ID.match(utt_id)
    if not match:
        problems.append(f"{wav}: utterance id {utt_id} does not follow SesNNX_<dialog>_<turn>")
        return None
    session = int(match["session"])
    gender = match["gender"]  # the TURN letter is the speaker (CORPORA.md)
    row = {
        "utt_id": utt_id, "corpus": corpus, "audio_path": str(wav),
        "speaker": f"Ses{session:02d}{gender}", "gender": gender, "session": session,
        "dialog": match["dialog"],
        "scenario": "improvised" if match["kind"] == "impro" else "scripted",
        "text": text if text is not None else "", "split": "", "status": "ok",
    }
    if block is None:
        row["status"] = "no_label"
        return row
    # EmoEvaluation times are positions in the DIALOG wav; start_s/end_s of the manifest cut
    # audio_path, and the sentence wav already is the whole utterance, so they stay empty.
    row.update({k: block[k] for k in ("label", "valence", "arousal", "dominance")})
    if block["label"] not in KNOWN_CODES:
        row["status"] = "unknown_label"
    return row

"""User transcripts: ``ser-prepare <corpus> <path> --transcripts CSV``.

MSP-Podcast v1.7 ships no transcripts (triantafyllopoulos2022 used DeepSpeech2 ASR output), and
a user may prefer their own ASR for any corpus. The CSV (UTF-8, a BOM allowed) has a header
naming the columns ``utt_id`` and ``text`` (others are ignored); each row's text (whitespace
collapsed, as the adapters do) becomes the manifest ``text`` of that utterance, replacing the
release's transcript when it has one. What the CSV cannot give is reported as a problem of the
source, never dropped silently: utt_ids the corpus does not have (counted, the first few
named), a second row for an utt_id (the first is kept), rows without utt_id or text, rows with
more cells than the header (a text with a comma must be quoted, as CSV wants). A file
that is missing, not UTF-8, or has no ``utt_id``/``text`` header is one clear error naming it.

Re-runs KEEP the user's text: the rows a run applied are stored with the corpus as
``<store>/<corpus>/transcripts.json`` (``{"csv": path, "texts": {utt_id: text}}``), and a later
run without ``--transcripts`` applies them again and says so (so adding a feature set later
does not silently change the manifest and drop the text). ``--transcripts OTHER.csv`` replaces
them; ``--transcripts none`` deletes them and goes back to the release's transcripts.

``prepare_report.json`` records ``transcripts``: ``source`` (``release``, ``csv``,
``release+csv`` or ``none``: where the text of the usable utterances came from), ``csv`` (the
CSV's path, or null), ``with_text`` / ``without_text`` (usable utterances with and without a
transcript), and ``from_csv``, ``from_release``, ``replaced`` (release transcripts the CSV
replaced, usable or not), ``unknown_ids``, ``kept_from`` (the stored copy, when the text was
kept from an earlier run, else null).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Callable

from data_prep.errors import PrepareError
from ser_keras import store

STORED = "transcripts.json"
NONE = "none"
NAMED = 5  # unknown utt_ids named in the problem line


def read_csv(path: str | Path) -> tuple[dict[str, str], list[str]]:
    """utt_id -> text of a transcripts CSV, and its problems (one line each)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PrepareError(f"{path}: no such transcripts file (--transcripts)") from None
    except IsADirectoryError:
        raise PrepareError(f"{path}: a directory, not a transcripts CSV (--transcripts)") from None
    except OSError as err:
        raise PrepareError(f"{path}: cannot read the transcripts CSV ({err.strerror})") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise PrepareError(f"{path}: the transcripts CSV is not UTF-8 text (byte {err.start})") \
            from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    try:
        fields = [(f or "").strip() for f in reader.fieldnames or []]
    except csv.Error as err:
        raise PrepareError(f"{path}: malformed transcripts CSV ({err})") from None
    if "utt_id" not in fields or "text" not in fields:
        found = ", ".join(f for f in fields if f) or "no header"
        raise PrepareError(f"{path}: not a transcripts CSV: its header must name the columns "
                           f"utt_id and text (found: {found[:200]})")
    reader.fieldnames = fields
    texts: dict[str, str] = {}
    problems: list[str] = []
    try:
        for record in reader:
            where = f"{path}:{reader.line_num}"
            utt_id = (record.get("utt_id") or "").strip()
            text = " ".join((record.get("text") or "").split())
            if None in record:  # more cells than the header: text cut at a comma
                problems.append(f"{where}: more fields than the header (a comma in an "
                                f"unquoted text?); row ignored")
            elif not utt_id:
                problems.append(f"{where}: no utt_id; row ignored")
            elif utt_id in texts:
                problems.append(f"{where}: second row for {utt_id}; kept the first")
            elif not text:
                problems.append(f"{where}: empty text for {utt_id}; row ignored")
            else:
                texts[utt_id] = text
    except csv.Error as err:
        raise PrepareError(f"{path}:{reader.line_num}: malformed transcripts CSV ({err})") \
            from None
    return texts, problems


@dataclasses.dataclass
class Applied:
    """What the user's transcripts did to a corpus's rows (for the report)."""
    csv: str | None = None
    kept_from: str | None = None
    from_csv: set[str] = dataclasses.field(default_factory=set)
    replaced: int = 0
    unknown_ids: int = 0

    def report(self, rows: list[dict]) -> dict:
        usable = [r for r in rows if r["status"] == store.STATUS_OK and not r.get("source_id")]
        with_text = [r for r in usable if r.get("text")]
        from_csv = sum(r["utt_id"] in self.from_csv for r in with_text)
        from_release = len(with_text) - from_csv
        source = ("none" if not with_text else "csv" if not from_release
                  else "release" if not from_csv else "release+csv")
        return {"source": source, "csv": self.csv, "with_text": len(with_text),
                "without_text": len(usable) - len(with_text), "from_csv": from_csv,
                "from_release": from_release, "replaced": self.replaced,
                "unknown_ids": self.unknown_ids, "kept_from": self.kept_from}


def apply(rows: list[dict], transcripts: str | Path | None, corpus_dir: Path, corpus: str,
          problems: list[str], log: Callable[[str], None] = print) -> Applied:
    """Fill the rows' ``text`` from ``transcripts`` (a CSV path, ``"none"`` or None: see the
    module docstring), append what could not be used to ``problems``, and store (or delete) the
    applied rows in ``corpus_dir`` for later runs."""
    stored = Path(corpus_dir) / STORED
    if isinstance(transcripts, str) and transcripts.strip().lower() == NONE:
        if stored.is_file():
            log(f"{corpus}: --transcripts none: dropping the transcripts of an earlier "
                f"--transcripts ({_stored_origin(stored)}) kept in {stored}")
            stored.unlink()
        return Applied()
    applied = Applied()
    if transcripts is not None:
        path = Path(transcripts).resolve()
        texts, csv_problems = read_csv(path)
        problems.extend(csv_problems)
        applied.csv = str(path)
        if stored.is_file() and _stored_origin(stored) != str(path):
            log(f"{corpus}: the transcripts of {path} replace those of the earlier "
                f"--transcripts {_stored_origin(stored)}")
    elif stored.is_file():
        origin, texts = _read_stored(stored)
        applied.csv, applied.kept_from = origin, str(stored)
        log(f"{corpus}: keeping the {len(texts)} transcript(s) of an earlier --transcripts "
            f"{origin} (stored in {stored}); --transcripts none drops them")
    else:
        return applied

    by_id = {r["utt_id"]: r for r in rows}
    unknown = [u for u in texts if u not in by_id]
    for utt_id, text in texts.items():
        row = by_id.get(utt_id)
        if row is None:
            continue
        if row.get("text") and row["text"] != text:
            applied.replaced += 1
        row["text"] = text
        applied.from_csv.add(utt_id)
    applied.unknown_ids = len(unknown)
    if unknown:
        named = ", ".join(unknown[:NAMED]) + (", ..." if len(unknown) > NAMED else "")
        problems.append(f"{applied.csv}: {len(unknown)} utt_id(s) that {corpus} does not have; "
                        f"ignored: {named}")
    if transcripts is not None:
        Path(corpus_dir).mkdir(parents=True, exist_ok=True)
        store.atomic_write_json(stored, {
            "csv": applied.csv,
            "texts": {u: texts[u] for u in sorted(applied.from_csv)}})
    return applied


def _read_stored(stored: Path) -> tuple[str, dict[str, str]]:
    try:
        found = json.loads(stored.read_text(encoding="utf-8"))
        origin, texts = found["csv"], found["texts"]
        if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
            raise ValueError("texts is not a mapping of utt_id to text")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise PrepareError(f"{stored}: unreadable copy of an earlier --transcripts ({err}); "
                           "give --transcripts CSV again, or --transcripts none") from None
    return str(origin), texts


def _stored_origin(stored: Path) -> str:
    try:
        return str(json.loads(stored.read_text(encoding="utf-8"))["csv"])
    except (OSError, ValueError, KeyError, TypeError):
        return "(unknown CSV)"


def summary_line(info: dict | None) -> str | None:
    """The console line about a report's ``transcripts`` entry."""
    if not info:
        return None
    usable = info["with_text"] + info["without_text"]
    where = info["source"]
    if info["csv"]:
        where += f" ({info['csv']}" + (f"; kept from an earlier run in {info['kept_from']}, "
                                       "--transcripts none drops them" if info["kept_from"]
                                       else "") + ")"
    line = f"  transcripts: {where}: {info['with_text']} of {usable} usable utterances have text"
    if info["csv"]:
        line += (f" ({info['from_csv']} from the CSV, {info['from_release']} from the release; "
                 f"{info['replaced']} release transcript(s) replaced by the CSV's)")
        if info["unknown_ids"]:
            line += f"; {info['unknown_ids']} CSV utt_id(s) not in the corpus (see problems)"
    return line

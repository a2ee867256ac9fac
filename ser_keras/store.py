"""The feature store: the one contract between ``data_prep`` (writer) and ``ser_keras`` (reader).

Layout of a prepared corpus (``<store>/<corpus>/``)::

    manifest.csv                  one row per utterance of the release, used or not
    prepare_report.json           counts by status and label, tool versions, timings
    features/<feature_set>/
        metadata.json             what the set is: extractor + config, dim, rank, dtype,
                                  frame shift, versions, manifest hash, shard plan,
                                  format version
        shard-00000-of-00004.tfrecord
        shard-00000-of-00004.done.json   completion marker: records, bytes, utt_ids, lengths,
                                         failures, notes

A shard is accepted only when its marker exists, the marker's byte count matches the file and
it lists one length per utt_id: the marker is written (atomically) after the shard file is
renamed into place, so a killed writer never leaves a shard that a reader would take. The shard
plan (which utt_ids go to which shard) is a pure function of the manifest, so a resumed run
writes exactly the bytes an uninterrupted run would.

Integrity (a shard damaged after its marker was written: bytes flipped, the file cut). The
marker records the shard's byte count and its ``sha256`` (markers written before the checksum
existed have none: they are trusted, and the next ``ser-prepare`` of the set reads their
records and adds it). Three checks, by cost (``check_shard``'s levels):

* ``size``: a stat of every shard, each time a set is opened (``open_feature_set``; well
  under a millisecond for a whole store): a cut or grown shard is refused at once, with the
  shard and the command that rebuilds it;
* flipped bytes of the same size are found by TensorFlow's CRC32C of every record while the
  records are read anyway (training's first epoch): ``shard_errors`` turns that
  ``tf.errors.DataLossError`` into a one-line ``StoreError`` naming the damaged shard (found
  by hashing the shards read, on that error path only) and the command;
* ``checksum`` (sha256 against the marker) and ``records`` (every record read, parsed and
  checked against the marker's utt_ids and lengths): ``ser-prepare ... --verify``
  (``verify_corpus``), every re-run of ``ser-prepare`` (a complete shard whose bytes no
  longer match its marker is re-extracted) and ``open_feature_set(..., verify=True)``.
  sha256 runs at about 1.4 GB/s (hashlib, warm page cache): too slow to repeat at every
  training start of a large store, which reads (and CRC-checks) every byte in its first
  epoch anyway.

Records are ``tf.train.Example`` protos with ``utt_id`` (bytes), ``shape`` (int64 list) and
``data`` (raw little-endian bytes, C order, in the set's ``dtype``: ``float32`` or ``float16``).
Readers decode with the metadata's dtype and always hand out float32.

Format history (``FORMAT_VERSION``; a reader opens only its own version, a writer rebuilds a set
of another version):

1. the first format: float32 records, markers without lengths;
2. markers record ``lengths`` (parallel to ``utt_ids``: each record's first-axis length, frames
   or tokens for rank ``"sequence"``, 1 for rank ``"vector"``), so that the input pipeline knows
   every length without scanning the set; records may be stored as float16 (metadata
   ``dtype``).

   Markers since gained ``sha256`` (the shard file's), optional: no format change, a marker
   without it is read as before.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ser_keras.errors import StoreError  # noqa: F401  (re-exported: the store's error)

FORMAT_VERSION = 2
DTYPES = ("float32", "float16")     # what a feature set may be stored as
RANKS = {"sequence": 2, "vector": 1}  # metadata "rank" -> array rank

MANIFEST_COLUMNS = (
    "utt_id", "corpus", "audio_path", "start_s", "end_s", "duration_s", "sample_rate",
    "speaker", "gender", "session", "dialog", "scenario", "text", "label",
    "valence", "arousal", "dominance", "split", "status", "source_id", "augmentation",
    "scores",
)
# Columns a manifest may lack: manifests written before augmentation existed have neither, and
# a manifest without augmented copies is written without them (same bytes, same hash as before:
# an existing store is not rebuilt by re-running ser-prepare). read_manifest fills them empty.
# source_id: the utt_id an augmented copy was made from; augmentation: how (noise:snr=20:k=1).
# scores: a corpus's per-utterance scores beyond valence/arousal/dominance, "name=value" pairs
# joined by ";" in the corpus's order (CMU-MOSEI's six emotion intensities 0-3:
# "happy=1;sad=0.3333;anger=0;surprise=0;disgust=0;fear=0"); read with parse_scores. A
# regression target that is no manifest column names a score (ser_keras.data.input).
OPTIONAL_COLUMNS = ("source_id", "augmentation", "scores")
SCORE_SEPARATOR, SCORE_ASSIGN = ";", "="
STATUS_OK = "ok"
DEFAULT_SHARD_SIZE = 256


# --------------------------------------------------------------------------------------------
# Paths and small helpers
# --------------------------------------------------------------------------------------------
def corpus_dir(store_root: str | os.PathLike, corpus: str) -> Path:
    return Path(store_root) / corpus


def feature_dir(store_root: str | os.PathLike, corpus: str, feature_set: str) -> Path:
    return corpus_dir(store_root, corpus) / "features" / feature_set


def manifest_path(store_root: str | os.PathLike, corpus: str) -> Path:
    return corpus_dir(store_root, corpus) / "manifest.csv"


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def rebuild_hint(metadata: dict | None, corpus: str, feature_set: str, store_root) -> str:
    command = (metadata or {}).get("prepare_command")
    if command:
        return command
    return f"ser-prepare {corpus} <path to the corpus> --features {feature_set} --out {store_root}"


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------
def write_manifest(path: str | os.PathLike, rows: Iterable[dict]) -> str:
    """Write the manifest (rows sorted by utt_id) atomically; return its sha256.

    ``OPTIONAL_COLUMNS`` that are empty in every row are left out (see there).
    """
    import io

    rows = sorted(rows, key=lambda r: r["utt_id"])
    columns = [c for c in MANIFEST_COLUMNS
               if c not in OPTIONAL_COLUMNS or any(_cell(r.get(c)) for r in rows)]
    seen = set()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="raise",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        if row["utt_id"] in seen:
            raise ValueError(f"duplicate utt_id in manifest: {row['utt_id']}")
        seen.add(row["utt_id"])
        writer.writerow({c: _cell(row.get(c)) for c in columns})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, buffer.getvalue())
    return file_sha256(path)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if np.isfinite(value) else ""
    return str(value)


SCORE_NAME = re.compile(r"[a-z][a-z0-9_]*")   # a score's name (lower case: a target name)


def format_scores(scores) -> str:
    """The ``scores`` cell of ``{name: value}`` (in its order; "" for none); ValueError for a
    name that is no SCORE_NAME or a name given twice."""
    def number(value) -> str:  # six decimals: MOSEI's intensities are thirds; never "-0"
        value = float(value)
        if not np.isfinite(value):
            return "nan"
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text

    items = list(scores.items() if isinstance(scores, dict) else scores)
    names = [str(n) for n, _ in items]
    bad = [n for n in names if not SCORE_NAME.fullmatch(n)]
    if bad or len(set(names)) != len(names):
        raise ValueError(f"score names {names}: each once, lower case [a-z][a-z0-9_]*")
    return SCORE_SEPARATOR.join(f"{name}{SCORE_ASSIGN}{number(value)}" for name, value in items)


def parse_scores(text: str, where: str = "scores") -> dict[str, float]:
    """``{name: value}`` of a ``scores`` cell, in its order; ValueError naming ``where``."""
    out: dict[str, float] = {}
    for item in (text or "").split(SCORE_SEPARATOR):
        if not item.strip():
            continue
        name, sep, value = item.partition(SCORE_ASSIGN)
        name = name.strip()
        try:
            if not sep or not SCORE_NAME.fullmatch(name) or name in out:
                raise ValueError
            out[name] = float(value)
        except ValueError:
            raise ValueError(f"{where}: {item!r} is not name=value (a lower-case name, "
                             "once)") from None
    return out


def read_manifest(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a manifest as dicts of strings (empty string where unknown).

    Every row has every ``MANIFEST_COLUMNS`` key; ``OPTIONAL_COLUMNS`` a manifest lacks (one
    written before they existed, or without augmented copies) are filled with "".
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path}: no manifest; prepare the corpus first with ser-prepare")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        found = set(reader.fieldnames or ())
        missing = set(MANIFEST_COLUMNS) - found - set(OPTIONAL_COLUMNS)
        if missing:
            raise StoreError(f"{path}: manifest lacks columns {sorted(missing)}; re-run ser-prepare")
        fill = [c for c in OPTIONAL_COLUMNS if c not in found]
        rows = list(reader)
    for row in rows:
        row.update((c, "") for c in fill)
    return rows


def plan_shards(utt_ids: Sequence[str], shard_size: int) -> list[list[str]]:
    """Split utt_ids (in the given order) into consecutive shards of at most ``shard_size``."""
    if shard_size < 1:
        raise ValueError("shard_size must be >= 1")
    utt_ids = list(utt_ids)
    return [utt_ids[i:i + shard_size] for i in range(0, len(utt_ids), shard_size)] or [[]]


def shard_name(index: int, count: int) -> str:
    return f"shard-{index:05d}-of-{count:05d}"


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------
def _check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise ValueError(f"feature dtype {dtype!r} is not supported; use one of {list(DTYPES)}")
    return dtype


def serialize_record(utt_id: str, array: np.ndarray, dtype: str = "float32") -> bytes:
    """One record; ``array`` is stored (little-endian, C order) in ``dtype``."""
    import tensorflow as tf

    array = np.ascontiguousarray(array, dtype=np.dtype(_check_dtype(dtype)).newbyteorder("<"))
    example = tf.train.Example(features=tf.train.Features(feature={
        "utt_id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[utt_id.encode()])),
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=list(array.shape))),
        "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[array.tobytes()])),
    }))
    return example.SerializeToString(deterministic=True)  # map order fixed: same bytes every run


def parse_record(serialized, rank: int, dim: int | None = None, dtype: str = "float32"):
    """Parse one serialized record into {"utt_id": string, "features": float32 tensor}.

    ``dtype`` is how the record is stored (the set's metadata ``dtype``); the features are
    always returned as float32. With ``dim`` the feature axis gets its static size (models need
    it to build).
    """
    import tensorflow as tf

    parsed = tf.io.parse_single_example(serialized, {
        "utt_id": tf.io.FixedLenFeature([], tf.string),
        "shape": tf.io.FixedLenFeature([rank], tf.int64),
        "data": tf.io.FixedLenFeature([], tf.string),
    })
    values = tf.io.decode_raw(parsed["data"], tf.as_dtype(_check_dtype(dtype)),
                              little_endian=True)
    features = tf.reshape(tf.cast(values, tf.float32), parsed["shape"])
    if dim is not None:
        features = tf.ensure_shape(features, [None] * (rank - 1) + [dim])
    return {"utt_id": parsed["utt_id"], "features": features}


# --------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------
class ShardWriter:
    """Writes one shard to a temporary file; ``commit`` makes it visible to readers.

    ``rank`` ("sequence" or "vector"), ``dim`` and ``dtype`` are the set's metadata: every
    array must have that rank and feature size, and is stored in ``dtype``.
    """

    def __init__(self, directory: Path, name: str, rank: str = "sequence",
                 dim: int | None = None, dtype: str = "float32"):
        import tensorflow as tf

        if rank not in RANKS:
            raise ValueError(f"feature rank {rank!r} is not one of {list(RANKS)}")
        self.directory = directory
        self.name = name
        self.rank = rank
        self.dim = None if dim is None else int(dim)
        self.dtype = _check_dtype(dtype)
        self.final = directory / f"{name}.tfrecord"
        self.tmp = directory / f"{name}.tfrecord.tmp"
        self.marker = directory / f"{name}.done.json"
        self._writer = tf.io.TFRecordWriter(str(self.tmp))
        self.utt_ids: list[str] = []
        self.lengths: list[int] = []
        self.failures: dict[str, str] = {}
        self.notes: dict[str, str] = {}

    def write(self, utt_id: str, array: np.ndarray, note: str | None = None) -> bool:
        """Store ``array`` as ``utt_id``'s record; True when stored.

        No NaN or Inf is ever stored: an array holding one is refused, recorded in the marker's
        failures as ``non_finite_features`` (``out_of_float16_range`` for a finite float32
        array that float16 cannot hold), and False is returned so the caller can report it.
        A wrong shape is a ValueError (a bug of the extractor, not of the utterance).
        """
        array = np.asarray(array, dtype=np.float32)
        if array.ndim != RANKS[self.rank] or (self.dim is not None and array.shape[-1] != self.dim):
            expected = "(length, dim)" if self.rank == "sequence" else "(dim,)"
            raise ValueError(f"{self.name}: {utt_id} has shape {array.shape}; a {self.rank} "
                             f"feature set of dim {self.dim} stores {expected} arrays")
        if not np.all(np.isfinite(array)):
            self.fail(utt_id, "non_finite_features")
            return False
        with np.errstate(over="ignore"):  # an overflow is checked for just below
            stored = array.astype(self.dtype)
        if not np.all(np.isfinite(stored)):  # finite in float32, beyond float16's range
            self.fail(utt_id, f"out_of_{self.dtype}_range")
            return False
        self._writer.write(serialize_record(utt_id, stored, self.dtype))
        self.utt_ids.append(utt_id)
        self.lengths.append(int(array.shape[0]) if self.rank == "sequence" else 1)
        if note:
            self.notes[utt_id] = note
        return True

    def fail(self, utt_id: str, reason: str) -> None:
        self.failures[utt_id] = reason

    def commit(self) -> dict:
        self._writer.close()
        checksum = file_sha256(self.tmp)
        os.replace(self.tmp, self.final)
        marker = {
            "shard": self.name,
            "records": len(self.utt_ids),
            "bytes": self.final.stat().st_size,
            "sha256": checksum,
            "utt_ids": self.utt_ids,
            "lengths": self.lengths,
            "failures": dict(sorted(self.failures.items())),
            "notes": dict(sorted(self.notes.items())),
        }
        atomic_write_json(self.marker, marker)
        return marker

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()


class FeatureSetWriter:
    """Owns ``features/<name>/`` of one corpus: metadata, shard plan, resume.

    ``description`` is the extractor's ``describe()`` (its ``rank``, ``dim`` and ``dtype``,
    default ``"float32"``, say what every array is and how it is stored); together with the
    manifest hash, the shard plan and the format version it forms the metadata. If a previous
    run left a feature set with different metadata (another configuration, another manifest,
    another store format) or unreadable metadata, it is removed and rebuilt.
    """

    def __init__(self, store_root, corpus: str, description: dict, manifest_sha256: str,
                 utt_ids: Sequence[str], shard_size: int = DEFAULT_SHARD_SIZE,
                 prepare_command: str | None = None, log=print):
        self.name = description["feature_set"]
        self.directory = feature_dir(store_root, corpus, self.name)
        self.shards = plan_shards(utt_ids, shard_size)
        self.metadata = dict(description)
        self.metadata.setdefault("dtype", "float32")
        _check_dtype(self.metadata["dtype"])
        if self.metadata.get("rank") not in RANKS:
            raise ValueError(f"{self.name}: feature rank {self.metadata.get('rank')!r} is not "
                             f"one of {list(RANKS)}")
        self.metadata.update({
            "format_version": FORMAT_VERSION,
            "corpus": corpus,
            "manifest_sha256": manifest_sha256,
            "shard_size": shard_size,
            "num_shards": len(self.shards),
            "num_utterances": len(utt_ids),
            "prepare_command": prepare_command,
        })
        meta_path = self.directory / "metadata.json"
        resumed = self.directory.exists()
        if resumed:
            reason = _rebuild_reason(meta_path, self.metadata)
            if reason:
                log(f"{self.directory}: {reason}; rebuilding {self.name}")
                shutil.rmtree(self.directory)
                resumed = False
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write_json(meta_path, self.metadata)
        if resumed:
            self._check_complete_shards(log)

    def _check_complete_shards(self, log) -> None:
        """A resumed set: every complete shard is checked against its marker: its size, and
        its sha256 when the shard was modified after its marker (an edit in place; a shard
        untouched since is not read again: ``--verify`` hashes everything) or the marker has
        none (from an older ser-prepare: it gets one once its records are read and match it).
        A shard that no longer matches loses its marker: it is re-extracted."""
        upgraded = 0
        for index in range(len(self.shards)):
            name = self.shard_name(index)
            check = check_shard(self.directory, name, "size", self.metadata)
            if not check.complete or check.problem:
                pass
            elif check.marker.get("sha256") and not _written_after_marker(check):
                continue   # unchanged since its marker (size, mtime): no need to hash it
            else:
                check = check_shard(self.directory, name, "checksum", self.metadata)
            if not check.complete:
                continue
            if check.problem:
                log(f"{check.path}: {check.problem}; re-extracting it")
                with contextlib.suppress(FileNotFoundError):
                    check.marker_path.unlink()
            elif not check.marker.get("sha256"):
                atomic_write_json(check.marker_path,
                                  dict(check.marker, sha256=file_sha256(check.path)))
                upgraded += 1
        if upgraded:
            log(f"{self.directory}: added a checksum to {upgraded} shard marker(s) written "
                "by an older ser-prepare (their records were read and match the markers)")

    def shard_name(self, index: int) -> str:
        return shard_name(index, len(self.shards))

    def is_complete(self, index: int) -> bool:
        return _shard_complete(self.directory, self.shard_name(index))

    def pending(self) -> list[int]:
        return [i for i in range(len(self.shards)) if not self.is_complete(i)]

    def open_shard(self, index: int) -> ShardWriter:
        name = self.shard_name(index)
        for stale in (f"{name}.tfrecord", f"{name}.tfrecord.tmp", f"{name}.done.json.tmp"):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / stale).unlink()
        return ShardWriter(self.directory, name, self.metadata["rank"], self.metadata.get("dim"),
                           self.metadata["dtype"])


def _written_after_marker(check) -> bool:
    """The shard's bytes were modified after its marker was written (an edit in place)."""
    try:
        return check.path.stat().st_mtime_ns > check.marker_path.stat().st_mtime_ns
    except FileNotFoundError:
        return True


def _comparable(metadata: dict) -> dict:
    # The command line that produced a store (paths, worker count) does not change its content.
    return {k: v for k, v in metadata.items() if k != "prepare_command"}


def _rebuild_reason(meta_path: Path, metadata: dict) -> str | None:
    """Why the set on disk cannot be resumed into ``metadata`` (None: it can)."""
    try:
        old = json.loads(meta_path.read_text())
    except FileNotFoundError:
        return None if not any(meta_path.parent.glob("shard-*")) else "metadata.json missing"
    except (OSError, ValueError):
        return "metadata.json unreadable"
    if not isinstance(old, dict):
        return "metadata.json unreadable"
    if old.get("format_version") != metadata["format_version"]:
        return f"store format {old.get('format_version')}, this version writes " \
               f"{metadata['format_version']}"
    if _comparable(old) != _comparable(metadata):
        return "configuration or manifest changed"
    return None


def _load_marker(directory: Path, name: str) -> tuple[dict | None, str | None]:
    """(marker, None) for a well-formed marker, else (None, why it is not).

    Well formed: a JSON object listing one length (an int >= 0) per utt_id and ``records``
    of them (a marker without ``lengths``, hand-edited or truncated, is not)."""
    marker = directory / f"{name}.done.json"
    if not marker.is_file():
        return None, (f"no marker {marker.name}: unfinished (an interrupted or running "
                      "ser-prepare)")
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None, f"marker {marker.name} unreadable"
    utt_ids, lengths = (info.get("utt_ids"), info.get("lengths")) if isinstance(
        info, dict) else (None, None)
    if not (isinstance(utt_ids, list) and isinstance(lengths, list)
            and len(lengths) == len(utt_ids) == info.get("records")
            and isinstance(info.get("bytes"), int)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                    for n in lengths)):
        return None, f"marker {marker.name} malformed (no length per utt_id)"
    return info, None


def _read_marker(directory: Path, name: str) -> dict | None:
    """The marker of a complete shard whose size matches it, or None (the shard is incomplete
    or cut: redone by the writer)."""
    check = check_shard(directory, name, "size")
    return None if check.problem else check.marker


def _shard_complete(directory: Path, name: str) -> bool:
    return _read_marker(directory, name) is not None


# --------------------------------------------------------------------------------------------
# Integrity
# --------------------------------------------------------------------------------------------
NO_CHECKSUM = "no checksum, re-run ser-prepare to add one"
CHECK_LEVELS = ("size", "checksum", "records")


@dataclasses.dataclass
class ShardCheck:
    """What ``check_shard`` found about one shard.

    ``complete``: its writer finished it (a well-formed marker exists); ``problem``: what is
    wrong (None: nothing, at the level checked); a complete shard with a problem was damaged
    after it was written. ``note``: NO_CHECKSUM for a marker without a sha256."""

    path: Path
    marker: dict | None = None
    problem: str | None = None
    note: str | None = None
    bytes: int = 0

    @property
    def complete(self) -> bool:
        return self.marker is not None

    @property
    def marker_path(self) -> Path:
        return self.path.with_name(self.path.name[:-len(".tfrecord")] + ".done.json")


def check_shard(directory, name: str, level: str = "size",
                metadata: dict | None = None) -> ShardCheck:
    """Check shard ``name`` of the set in ``directory`` against its marker.

    ``level``: ``"size"`` (marker, file and byte count: a stat), ``"checksum"`` (also the
    sha256 the marker records; a marker without one: the records are read instead, the only
    check of its bytes), ``"records"`` (also every record read and parsed with ``metadata``'s
    rank, dim and dtype, and its utt_id and length compared with the marker's).
    """
    if level not in CHECK_LEVELS:
        raise ValueError(f"check level {level!r} not in {CHECK_LEVELS}")
    directory = Path(directory)
    check = ShardCheck(directory / f"{name}.tfrecord")
    check.marker, check.problem = _load_marker(directory, name)
    if check.marker is None:
        return check
    try:
        check.bytes = check.path.stat().st_size
    except FileNotFoundError:
        check.problem = "the file is missing, its marker says it is complete"
        return check
    if check.bytes != check.marker["bytes"]:
        check.problem = (f"{check.bytes} bytes, its marker records {check.marker['bytes']} "
                         "(cut or changed after it was written)")
        return check
    if level == "size":
        return check
    checksum = check.marker.get("sha256")
    if not checksum:
        check.note = NO_CHECKSUM
    elif file_sha256(check.path) != checksum:
        check.problem = "sha256 differs from its marker's (changed after it was written)"
        return check
    if level == "records" or not checksum:
        check.problem = _check_records(check.path, check.marker, metadata)
    return check


def _check_records(path: Path, marker: dict, metadata: dict | None) -> str | None:
    """Read every record of a shard (TFRecord CRC32C of each); with ``metadata``, parse it
    and compare its utt_id and length with the marker's. None when all is well."""
    import tensorflow as tf

    ds = tf.data.TFRecordDataset([str(path)])
    usable = (isinstance(metadata, dict) and metadata.get("rank") in RANKS
              and metadata.get("dtype", "float32") in DTYPES and metadata.get("dim"))
    if usable:
        rank, dim = RANKS[metadata["rank"]], int(metadata["dim"])
        dtype = metadata.get("dtype", "float32")
        ds = ds.map(lambda s: parse_record(s, rank, dim, dtype),
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).map(
            lambda r: (r["utt_id"], tf.shape(r["features"])[0]))
    else:
        ds = ds.map(lambda s: (tf.constant(b""), tf.constant(0)))
    utt_ids, lengths = [], []
    try:
        for utt_id, length in ds.as_numpy_iterator():
            utt_ids.append(utt_id.decode())
            lengths.append(int(length) if not usable or rank == 2 else 1)
    except tf.errors.OpError as err:
        return f"record {len(utt_ids)} unreadable: {tf_reason(err)}"
    expected = marker["utt_ids"]
    if len(utt_ids) != len(expected):
        return f"{len(utt_ids)} records, its marker lists {len(expected)}"
    if not usable:
        return None
    for i, (found, wanted) in enumerate(zip(utt_ids, expected)):
        if found != wanted:
            return f"record {i} is {found}, its marker lists {wanted}"
    for i, (found, wanted) in enumerate(zip(lengths, marker["lengths"])):
        if found != wanted:
            return f"record {i} ({utt_ids[i]}) has length {found}, its marker records {wanted}"
    return None


def tf_reason(err) -> str:
    """The words of a TensorFlow error without its graph and op decorations."""
    message = " ".join(str(getattr(err, "message", err)).split())
    found = re.search(r"(corrupted|truncated) record at (\d+)", message)
    if found:
        return f"{found.group(1)} record at byte {found.group(2)}"
    message = re.sub(r"\[*\{\{[^}]*\}\}\]*", "", message)
    message = re.sub(r"\[Op:[^\]]*\].*", "", message).strip(" :;")
    return message[:160] or type(err).__name__


# --------------------------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------------------------
class FeatureSet:
    """A complete, validated feature set of one prepared corpus.

    >>> fs = open_feature_set("data", "demo", "mfcc39_smile")
    >>> fs.dim, fs.rank, fs.dtype, len(fs.utt_ids)     # 39, 2, "float32", 60
    >>> fs.lengths[fs.utt_ids[0]], fs.longest(fs.utt_ids)   # frames, from the markers
    >>> ds = fs.dataset()      # tf.data: {"utt_id": string, "features": float32}

    ``lengths`` (utt_id -> first-axis length: frames or tokens for a sequence set, 1 for a
    vector set) comes from the shard markers: no record is read to know it. ``dtype`` is how
    the records are stored; ``dataset()`` always yields float32.
    """

    def __init__(self, store_root, corpus: str, name: str, metadata: dict, markers: list[dict]):
        self.store_root = Path(store_root)
        self.corpus = corpus
        self.name = name
        self.metadata = metadata
        self.directory = feature_dir(store_root, corpus, name)
        self.shard_paths = [self.directory / f"{m['shard']}.tfrecord" for m in markers]
        self.utt_ids = [u for m in markers for u in m["utt_ids"]]
        self.lengths: dict[str, int] = {u: int(n) for m in markers
                                        for u, n in zip(m["utt_ids"], m["lengths"])}
        self.dtype: str = metadata.get("dtype", "float32")
        self.dim: int = int(metadata["dim"])
        self.failures = {u: r for m in markers for u, r in m.get("failures", {}).items()}
        self.notes = {u: r for m in markers for u, r in m.get("notes", {}).items()}

    @property
    def rank(self) -> int:
        """2 for a sequence set ((length, dim) arrays), 1 for a vector set ((dim,) arrays)."""
        return RANKS[self.metadata["rank"]]

    @property
    def hint(self) -> str:
        """The command that (re)builds this set: the ser-prepare command recorded with it."""
        return rebuild_hint(self.metadata, self.corpus, self.name, self.store_root)

    def longest(self, utt_ids: Iterable[str] | None = None) -> int:
        """The largest length among ``utt_ids`` (all records when None; 0 when empty).

        An utt_id that is not in the set (not usable, or its extraction failed) is a KeyError.
        """
        if utt_ids is None:
            return max(self.lengths.values(), default=0)
        longest = 0
        for utt_id in utt_ids:
            try:
                longest = max(longest, self.lengths[utt_id])
            except KeyError:
                reason = self.failures.get(utt_id)
                raise KeyError(f"{utt_id} is not in feature set {self.name} of {self.corpus}"
                               + (f" (extraction failed: {reason})" if reason else "")) from None
        return longest

    def dataset(self, num_parallel_reads=None):
        """tf.data.Dataset of {"utt_id", "features"} in shard order."""
        import tensorflow as tf

        autotune = tf.data.AUTOTUNE
        # which shards to check on a read error, the most recently read last
        _READING.pop(str(self.directory), None)
        _READING[str(self.directory)] = self
        files = [str(p) for p in self.shard_paths]
        ds = tf.data.TFRecordDataset(files, num_parallel_reads=num_parallel_reads)
        rank, dim, dtype = self.rank, self.dim, self.dtype
        return ds.map(lambda s: parse_record(s, rank, dim, dtype), num_parallel_calls=autotune,
                      deterministic=True)

    def to_dict(self) -> dict[str, np.ndarray]:
        """All records as numpy arrays keyed by utt_id (small corpora, tests, notebooks)."""
        with shard_errors([self]):
            return {r["utt_id"].decode(): r["features"]
                    for r in self.dataset().as_numpy_iterator()}


def open_feature_set(store_root, corpus: str, name: str,
                     expect: dict | None = None, verify: bool = False) -> FeatureSet:
    """Open a feature set, refusing one that is missing, incomplete, damaged or not as expected.

    ``expect`` maps metadata keys to required values (e.g. ``{"dim": 39}``); dotted keys reach
    into ``config`` (``{"config.text_encoder": "bert-base-uncased"}``). Every shard's size is
    checked against its marker (a stat); ``verify`` also checks its sha256 (reads the whole
    set: see the module's "Integrity"). A damaged shard is a one-line StoreError naming the
    shard and the command that rebuilds it.
    """
    directory = feature_dir(store_root, corpus, name)
    meta_path = directory / "metadata.json"
    if not meta_path.is_file():
        raise StoreError(
            f"{directory}: feature set '{name}' of corpus '{corpus}' is not in the store; "
            f"build it with: {rebuild_hint(None, corpus, name, store_root)}")
    try:
        metadata = json.loads(meta_path.read_text())
    except ValueError as err:
        raise StoreError(f"{meta_path}: unreadable ({err}); rebuild with: "
                         f"{rebuild_hint(None, corpus, name, store_root)}") from None
    if not isinstance(metadata, dict):
        raise StoreError(f"{meta_path}: not a feature set's metadata; rebuild with: "
                         f"{rebuild_hint(None, corpus, name, store_root)}")
    hint = rebuild_hint(metadata, corpus, name, store_root)
    found = metadata.get("format_version")
    if found != FORMAT_VERSION:
        newer = isinstance(found, int) and found > FORMAT_VERSION
        raise StoreError(f"{meta_path}: the store format is {found} and this version of "
                         f"ser-keras reads {FORMAT_VERSION}; "
                         + ("upgrade ser-keras or " if newer else "")
                         + f"rebuild with: {hint}")
    if metadata.get("dtype", "float32") not in DTYPES or metadata.get("rank") not in RANKS:
        raise StoreError(f"{meta_path}: dtype {metadata.get('dtype')!r} / rank "
                         f"{metadata.get('rank')!r} not readable (dtypes {list(DTYPES)}, ranks "
                         f"{list(RANKS)}); rebuild with: {hint}")
    manifest = manifest_path(store_root, corpus)
    if manifest.is_file() and file_sha256(manifest) != metadata.get("manifest_sha256"):
        raise StoreError(f"{meta_path}: built from another manifest than {manifest}; "
                         f"rebuild with: {hint}")
    for key, wanted in (expect or {}).items():
        found = _dotted(metadata, key)
        if found != wanted:
            raise StoreError(f"{meta_path}: {key} is {found!r}, expected {wanted!r}; "
                             f"rebuild with: {hint}")
    checks = [check_shard(directory, shard_name(index, metadata["num_shards"]),
                          "checksum" if verify else "size", metadata)
              for index in range(metadata["num_shards"])]
    damaged = [c for c in checks if c.complete and c.problem]
    if damaged:
        raise damaged_error(damaged, hint)
    markers = [c.marker for c in checks if c.complete]
    missing = [c.path.name[:-len(".tfrecord")] for c in checks if not c.complete]
    if missing:
        raise StoreError(f"{directory}: {len(missing)} of {metadata['num_shards']} shards are "
                         f"incomplete (first: {missing[0]}); finish them with: {hint}")
    return FeatureSet(store_root, corpus, name, metadata, markers)


def _dotted(mapping: dict, key: str):
    value: Any = mapping
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def iter_marker_summaries(store_root, corpus: str) -> Iterator[tuple[str, dict]]:
    """(feature_set, summary) for every feature set of a corpus: records, failures, notes."""
    root = corpus_dir(store_root, corpus) / "features"
    for directory in sorted(p for p in root.glob("*") if p.is_dir()):
        records, failures, notes = 0, {}, {}
        for marker in sorted(directory.glob("*.done.json")):
            info = json.loads(marker.read_text())
            records += info["records"]
            failures.update(info.get("failures", {}))
            notes.update(info.get("notes", {}))
        yield directory.name, {"records": records, "failures": failures, "notes": notes}


# --------------------------------------------------------------------------------------------
# Read errors (a shard damaged after the set was opened: flipped bytes of the same size)
# --------------------------------------------------------------------------------------------
_READING: dict[str, FeatureSet] = {}   # sets whose dataset() was built in this process


def damaged_error(damaged: Sequence[ShardCheck], hint: str) -> StoreError:
    """The one-line error of damaged shards (the first named, the others counted)."""
    first = damaged[0]
    more = f" (and {len(damaged) - 1} more damaged shard(s))" if len(damaged) > 1 else ""
    return StoreError(f"{first.path}: damaged: {first.problem}{more}; re-extract "
                      f"{'them' if more else 'it'} with: {hint}")


def read_error(err: BaseException, feature_sets=None) -> StoreError | None:
    """The StoreError that explains ``err``, a TensorFlow ``DataLossError`` raised while
    records were read ("corrupted record at N", which names no file); None for any other
    error, or when no feature set was read.

    The shards of ``feature_sets`` (default: every set whose ``dataset()`` this process built,
    the most recent first; pooled sets are looked into) are checked (size and sha256, or their records for a marker
    without a checksum) to name the damaged one and the command that re-extracts it.
    """
    tf = sys.modules.get("tensorflow")
    if tf is None or not isinstance(err, tf.errors.DataLossError):
        return None
    # the sets read most recently first: the one TensorFlow was reading is among them
    sets = (list(reversed(_READING.values())) if feature_sets is None
            else _flatten(feature_sets))
    if not sets:
        return None
    for fs in sets:
        damaged = [c for c in (check_shard(fs.directory, p.name[:-len(".tfrecord")],
                                           "checksum", fs.metadata)
                               for p in fs.shard_paths) if c.problem]
        if damaged:
            return damaged_error(damaged, fs.hint)
    names = ", ".join(sorted({f"{fs.corpus}/{fs.name}" for fs in sets}))
    return StoreError(f"a shard of feature set(s) {names} could not be read ({tf_reason(err)}), "
                      f"though every shard now matches its marker; check the store with: "
                      f"{sets[0].hint} --verify")


def _flatten(feature_sets) -> list[FeatureSet]:
    out: list[FeatureSet] = []
    for fs in feature_sets:
        out += _flatten(fs.sets) if hasattr(fs, "sets") else [fs]
    return out


@contextlib.contextmanager
def shard_errors(feature_sets=None):
    """Run a block that reads feature sets (``model.fit``, ``predict``, iterating a dataset):
    a damaged shard found by TensorFlow there is re-raised as a one-line StoreError naming
    the shard and the command that re-extracts it (``read_error``), not a TensorFlow trace.

    >>> with store.shard_errors():
    ...     model.fit(train_ds, ...)
    """
    try:
        yield
    except Exception as err:  # noqa: BLE001 - only a DataLossError is translated
        converted = read_error(err, feature_sets)
        if converted is None:
            raise
        raise converted from None


# --------------------------------------------------------------------------------------------
# Verify (ser-prepare ... --verify)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class VerifyReport:
    """What ``verify_corpus`` found: ``bad`` (shard or set path, what is wrong), ``notes``
    (lines that are no damage: no checksum, a stale or old-format set)."""

    corpus_dir: Path
    sets: int = 0
    shards: int = 0
    bytes: int = 0
    seconds: float = 0.0
    bad: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    hints: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.bad

    def lines(self) -> list[str]:
        lines = [f"{path}: {problem}" for path, problem in self.bad] + list(self.notes)
        if self.bad:
            lines.append(f"{self.corpus_dir}: {len(self.bad)} problem(s) in {self.shards} "
                         f"shard(s) of {self.sets} feature set(s); the prepare command "
                         f"re-extracts the bad shards: {' ; '.join(self.hints)}")
        else:
            lines.append(f"{self.corpus_dir}: {self.shards} shard(s) of {self.sets} feature "
                         f"set(s) verified, all fine ({self.bytes / 1e6:.1f} MB in "
                         f"{self.seconds:.1f} s)")
        return lines


def verify_corpus(store_root, corpus: str, feature_sets: Sequence[str] | None = None
                  ) -> VerifyReport:
    """Check every shard of every feature set (or of ``feature_sets``) of a prepared corpus:
    marker present and well formed, byte size, sha256, every record readable, parsed, and as
    its marker lists it. Reads everything, writes nothing."""
    started = time.perf_counter()
    report = VerifyReport(corpus_dir(store_root, corpus))
    if not report.corpus_dir.is_dir():
        raise StoreError(f"{report.corpus_dir}: no prepared corpus here (nothing to verify); "
                         "prepare it first with ser-prepare")
    root = report.corpus_dir / "features"
    names = list(feature_sets) if feature_sets else sorted(
        p.name for p in root.glob("*") if p.is_dir())
    manifest = manifest_path(store_root, corpus)
    if not names and not manifest.is_file():   # e.g. only the lock of a failed first run
        raise StoreError(f"{report.corpus_dir}: no prepared corpus here (no manifest, no "
                         "feature set): nothing to verify; prepare it first with ser-prepare")
    manifest_sha = file_sha256(manifest) if manifest.is_file() else None

    def bad(path, problem, hint):
        report.bad.append((path, problem))
        if hint not in report.hints:
            report.hints.append(hint)

    for name in names:
        directory = root / name
        meta_path = directory / "metadata.json"
        report.sets += 1
        try:
            metadata = json.loads(meta_path.read_text())
            if not isinstance(metadata, dict) or not isinstance(metadata.get("num_shards"), int):
                raise ValueError("not a feature set's metadata")
        except FileNotFoundError:
            bad(meta_path, "missing (the set is not in the store)" if not directory.is_dir()
                else "missing", rebuild_hint(None, corpus, name, store_root))
            continue
        except (OSError, ValueError) as err:
            bad(meta_path, f"unreadable ({err})", rebuild_hint(None, corpus, name, store_root))
            continue
        hint = rebuild_hint(metadata, corpus, name, store_root)
        if metadata.get("format_version") != FORMAT_VERSION:
            report.notes.append(f"{directory}: store format {metadata.get('format_version')}, "
                                f"this ser-keras reads {FORMAT_VERSION} (not checked; readers "
                                f"refuse it): rebuild with: {hint}")
            continue
        if manifest_sha is not None and metadata.get("manifest_sha256") != manifest_sha:
            report.notes.append(f"{directory}: built from another manifest than {manifest} "
                                f"(stale: readers refuse it); rebuild with: {hint}")
        unchecked = 0
        count = metadata["num_shards"]
        for index in range(count):
            check = check_shard(directory, shard_name(index, count), "records", metadata)
            report.shards += 1
            report.bytes += check.bytes
            if check.problem:
                bad(check.path, check.problem, hint)
            elif check.note == NO_CHECKSUM:
                unchecked += 1
        if unchecked:
            report.notes.append(f"{directory}: {unchecked} of {count} shard(s): "
                                f"{NO_CHECKSUM} ({hint})")
    report.seconds = time.perf_counter() - started
    return report

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
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
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
        os.replace(self.tmp, self.final)
        marker = {
            "shard": self.name,
            "records": len(self.utt_ids),
            "bytes": self.final.stat().st_size,
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
        if self.directory.exists():
            reason = _rebuild_reason(meta_path, self.metadata)
            if reason:
                log(f"{self.directory}: {reason}; rebuilding {self.name}")
                shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write_json(meta_path, self.metadata)

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


def _read_marker(directory: Path, name: str) -> dict | None:
    """The marker of a complete shard, or None when the shard is incomplete.

    Complete: marker and shard file exist, the byte count matches, and the marker lists one
    length per utt_id (a marker without ``lengths``, hand-edited or truncated, is incomplete).
    """
    marker = directory / f"{name}.done.json"
    shard = directory / f"{name}.tfrecord"
    if not (marker.is_file() and shard.is_file()):
        return None
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("bytes") != shard.stat().st_size:
        return None
    utt_ids, lengths = info.get("utt_ids"), info.get("lengths")
    if not (isinstance(utt_ids, list) and isinstance(lengths, list)
            and len(lengths) == len(utt_ids) == info.get("records")
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                    for n in lengths)):
        return None
    return info


def _shard_complete(directory: Path, name: str) -> bool:
    return _read_marker(directory, name) is not None


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
        files = [str(p) for p in self.shard_paths]
        ds = tf.data.TFRecordDataset(files, num_parallel_reads=num_parallel_reads)
        rank, dim, dtype = self.rank, self.dim, self.dtype
        return ds.map(lambda s: parse_record(s, rank, dim, dtype), num_parallel_calls=autotune,
                      deterministic=True)

    def to_dict(self) -> dict[str, np.ndarray]:
        """All records as numpy arrays keyed by utt_id (small corpora, tests, notebooks)."""
        return {r["utt_id"].decode(): r["features"]
                for r in self.dataset().as_numpy_iterator()}


def open_feature_set(store_root, corpus: str, name: str,
                     expect: dict | None = None) -> FeatureSet:
    """Open a feature set, refusing one that is missing, incomplete or not as expected.

    ``expect`` maps metadata keys to required values (e.g. ``{"dim": 39}``); dotted keys reach
    into ``config`` (``{"config.text_encoder": "bert-base-uncased"}``).
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
    markers, missing = [], []
    for index in range(metadata["num_shards"]):
        name_i = shard_name(index, metadata["num_shards"])
        marker = _read_marker(directory, name_i)
        if marker is not None:
            markers.append(marker)
        else:
            missing.append(name_i)
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

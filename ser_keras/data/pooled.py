"""Pooled datasets: several prepared corpora trained and tested as one (``ravdess+savee+tess``).

kakuba2023 (Sec. III-D, Tables 7-8) pools RAVDESS, SAVEE and TESS "since they were collected in
a similar controlled manner". An experiment names such a pool as its dataset, the corpora
joined by ``+``; each corpus stays prepared on its own in the store (``ser-prepare ravdess``,
``ser-prepare savee``, ...), and stage 2 reads them side by side:

- manifest rows get qualified ids, ``<corpus>/<utt_id>``, and speakers, ``<corpus>/<speaker>``
  (two corpora may both number their speakers 01, 02...: speaker-independent protocols must
  not take them for one person); ``source_id`` of augmented copies is qualified the same way;
- a feature set of the pool (:class:`PooledFeatureSet`) chains the corpora's sets of that
  name, yielding the qualified ids, and refuses sets whose extraction differs between corpora
  (another config, dim, rank or frame shift: the pool would mix incomparable features).
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from ser_keras import store
from ser_keras.errors import StoreError

SEPARATOR = "+"      # between the corpora of a pooled dataset
QUALIFIER = "/"      # between a corpus and its own utt_id / speaker


def parts(dataset: str) -> list[str]:
    """The corpora of a dataset name: ``["ravdess", "savee", "tess"]``, or ``[dataset]``."""
    names = [p.strip() for p in dataset.split(SEPARATOR)]
    if any(not p for p in names) or len(set(names)) != len(names):
        raise StoreError(f"dataset {dataset!r}: a pool names distinct corpora joined by "
                         f"{SEPARATOR!r} (e.g. ravdess+savee+tess)")
    return names


def is_pooled(dataset: str) -> bool:
    return SEPARATOR in dataset


def qualify(corpus: str, value: str) -> str:
    return f"{corpus}{QUALIFIER}{value}" if value else value


def pool_rows(rows_by_corpus: Mapping[str, Sequence[dict]]) -> list[dict]:
    """The manifest rows of every corpus, ids and speakers qualified by their corpus."""
    pooled = []
    for corpus, rows in rows_by_corpus.items():
        for row in rows:
            row = dict(row)
            for key in ("utt_id", "speaker", "source_id"):
                if row.get(key):
                    row[key] = qualify(corpus, row[key])
            pooled.append(row)
    return pooled


_MUST_AGREE = ("feature_set", "config", "dim", "rank", "dtype", "frame_shift_s", "modality")


class PooledFeatureSet:
    """One feature set over the corpora of a pool, with the interface of ``store.FeatureSet``
    that stage 2 reads (``name``, ``metadata``, ``utt_ids``, ``lengths``, ``failures``,
    ``dim``, ``dtype``, ``rank``, ``longest``, ``dataset``, ``to_dict``)."""

    def __init__(self, sets: Sequence[store.FeatureSet]):
        if not sets:
            raise StoreError("a pooled feature set needs at least one corpus")
        first = sets[0]
        for other in sets[1:]:
            differing = [k for k in _MUST_AGREE
                         if first.metadata.get(k) != other.metadata.get(k)]
            if differing:
                raise StoreError(
                    f"feature set {first.name}: {first.corpus} and {other.corpus} were "
                    f"extracted differently ({', '.join(differing)} differ); prepare both with "
                    "the same options to pool them")
        self.sets = list(sets)
        self.name = first.name
        self.corpus = SEPARATOR.join(fs.corpus for fs in sets)
        self.metadata = dict(first.metadata, corpus=self.corpus,
                             pooled={fs.corpus: fs.metadata.get("manifest_sha256")
                                     for fs in sets})
        self.dim = first.dim
        self.dtype = first.dtype
        self.utt_ids = [qualify(fs.corpus, u) for fs in sets for u in fs.utt_ids]
        self.lengths = {qualify(fs.corpus, u): n for fs in sets for u, n in fs.lengths.items()}
        self.failures = {qualify(fs.corpus, u): r for fs in sets for u, r in fs.failures.items()}
        self.notes = {qualify(fs.corpus, u): r for fs in sets
                      for u, r in getattr(fs, "notes", {}).items()}

    @property
    def rank(self) -> int:
        return self.sets[0].rank

    def longest(self, utt_ids: Iterable[str] | None = None) -> int:
        if utt_ids is None:
            return max(self.lengths.values(), default=0)
        longest = 0
        for utt_id in utt_ids:
            if utt_id not in self.lengths:
                reason = self.failures.get(utt_id)
                raise KeyError(f"{utt_id} is not in feature set {self.name} of {self.corpus}"
                               + (f" (extraction failed: {reason})" if reason else ""))
            longest = max(longest, self.lengths[utt_id])
        return longest

    def dataset(self, num_parallel_reads=None):
        """The corpora's records one after the other, ids qualified (the order of utt_ids)."""
        import tensorflow as tf

        def qualified(prefix):
            return lambda r: {**r, "utt_id": tf.strings.join([prefix, r["utt_id"]])}

        pooled = None
        for fs in self.sets:
            ds = fs.dataset(num_parallel_reads).map(qualified(fs.corpus + QUALIFIER))
            pooled = ds if pooled is None else pooled.concatenate(ds)
        return pooled

    def to_dict(self):
        return {r["utt_id"].decode(): r["features"]
                for r in self.dataset().as_numpy_iterator()}


def read_rows(store_root, dataset: str) -> list[dict]:
    """The manifest rows of a corpus or of a pool (qualified), straight from the store."""
    if not is_pooled(dataset):
        return store.read_manifest(store.manifest_path(store_root, dataset))
    return pool_rows({corpus: store.read_manifest(store.manifest_path(store_root, corpus))
                      for corpus in parts(dataset)})


def open_feature_set(store_root, dataset: str, name: str):
    """``store.open_feature_set`` for a corpus, or the pooled set of a pool's corpora."""
    if not is_pooled(dataset):
        return store.open_feature_set(store_root, dataset, name)
    return PooledFeatureSet([store.open_feature_set(store_root, corpus, name)
                             for corpus in parts(dataset)])

"""tf.data input from the feature store: named model inputs of any rank.

>>> feeds = [InputFeed("audio", "sequence", [mfcc]), InputFeed("text", "sequence", [bert])]
>>> ds, ids = make_dataset(feeds, targets, batch_size=32, shuffle=True, seed=0)

Each model input is fed by one ``InputFeed``:

- rank ``sequence``: one or more frame-level feature sets, concatenated on the feature axis
  (their frame counts must agree to within one frame; the longer ones are cut to the
  shortest), giving ``name`` (batch, T, dim) and ``name_mask`` (batch, T), 1 on real frames and
  0 on padding. Batches are padded to their own longest sample (``padded_batch``), or to a
  fixed length (``pad_to_*``). With ``crop_*`` every training sample is a random crop of that
  length (a new one every epoch; shorter samples stay whole), while validation and test
  samples are whole.
- rank ``vector``: one or more utterance-level sets, concatenated: ``name`` (batch, dim), no mask.
- rank ``tokens``: the manifest's transcript, cleaned like stage 1 cleans it and tokenised in
  the pipeline by a keras-hub preprocessor: ``name_token_ids``, ``name_padding_mask``,
  ``name_segment_ids`` (batch, L) int32.

Targets are class indices (int32) or a float32 vector of continuous values; with class
weights the elements are ``(inputs, target, sample_weight)``. The order of the utterances
(returned as a list of utt_ids) is the store's order when ``shuffle`` is False, so predictions
can be matched to utterances.
"""
from __future__ import annotations

import collections
import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np

from ser_keras import store
from ser_keras.config import InputOptions
from ser_keras.data.classes import ClassSet
from ser_keras.errors import ConfigError, StoreError

SCENARIOS = ("improvised", "mixed")
RANKS = ("sequence", "vector", "tokens")
TOKEN_KEYS = ("token_ids", "padding_mask", "segment_ids")
MAX_FRAME_MISMATCH = 1  # frame counts of concatenated sequence sets may differ by this much


def select_rows(rows: Sequence[dict], class_set: ClassSet, scenario: str = "mixed"
                ) -> tuple[list[dict], dict[str, int]]:
    """Rows usable for ``class_set`` in ``scenario`` and the counts of those left out, by reason.

    ``mixed`` = improvised + scripted; ``improvised`` keeps improvised dialogs only.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    kept, left_out = [], collections.Counter()
    for row in rows:
        # augmented copies (ser-prepare --augment) are counted apart from the utterances
        copy = " (augmented copies)" if row.get("source_id") else ""
        if row["status"] != store.STATUS_OK:
            left_out[f"status {row['status']}{copy}"] += 1
        elif class_set.index(row["label"]) is None:
            left_out[f"label {row['label'] or '(none)'} not in {class_set.name}{copy}"] += 1
        elif scenario == "improvised" and row.get("scenario") != "improvised":
            left_out[f"scenario {row.get('scenario') or '(none)'}{copy}"] += 1
        else:
            kept.append(row)
    return kept, dict(sorted(left_out.items()))


# --------------------------------------------------------------------------------------------
# Feeds
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class InputFeed:
    """What feeds one model input: its rank, feature sets (none for tokens) and options."""

    name: str
    rank: str
    feature_sets: list[store.FeatureSet] = dataclasses.field(default_factory=list)
    options: InputOptions = dataclasses.field(default_factory=InputOptions)
    preprocessor: Any = None          # tokens: a keras-hub preprocessor (strings -> token dict)
    texts: Mapping[str, str] | None = None  # tokens: utt_id -> cleaned transcript

    def __post_init__(self):
        if self.rank not in RANKS:
            raise ConfigError(f"input {self.name}: rank {self.rank!r} not in {RANKS}")
        if self.rank == "tokens":
            if self.feature_sets or self.preprocessor is None or self.texts is None:
                raise ConfigError(f"input {self.name}: a tokens input takes the transcript "
                                  "and a preprocessor, no feature set")
            return
        if not self.feature_sets:
            raise ConfigError(f"input {self.name}: no feature set feeds it")
        for fs in self.feature_sets:
            found = fs.metadata.get("rank", "sequence")
            if found != self.rank:
                raise ConfigError(
                    f"input {self.name} is a {self.rank} input; feature set {fs.name} is a "
                    f"{found} set" + (" (an utterance-level set: use a vector model such as "
                                      "mlp)" if found == "vector" else
                                      " (a frame-level set: use its *_mean variant or a "
                                      "sequence model)"))
        if self.rank == "vector" and (self.options.crops or self.fixed_length is not None
                                      or self.options.pad_to_longest):
            raise ConfigError(f"input {self.name}: crops and fixed padding are for sequence "
                              "inputs")

    @property
    def dim(self) -> int | None:
        if self.rank == "tokens":
            return None
        return sum(int(fs.metadata["dim"]) for fs in self.feature_sets)

    def _frames(self, seconds: float | None, frames: int | None, what: str) -> int | None:
        if frames is not None:
            return int(frames)
        if seconds is None:
            return None
        shift = self.feature_sets[0].metadata.get("frame_shift_s")
        if not shift:
            raise ConfigError(f"input {self.name}: {what}_seconds needs a frame shift; "
                              f"{self.feature_sets[0].name} has none (give {what}_frames)")
        return max(1, int(round(seconds / float(shift))))

    @property
    def crop_length(self) -> int | None:
        o = self.options
        return self._frames(o.crop_seconds, o.crop_frames, "crop")

    @property
    def fixed_length(self) -> int | None:
        o = self.options
        return self._frames(o.pad_to_seconds, o.pad_to_frames, "pad_to")

    def spec(self) -> dict:
        """This input's entry of a model's input spec."""
        if self.rank == "tokens":
            return {"rank": "tokens", "length": self.options.max_tokens}
        return {"rank": self.rank, "dim": self.dim,
                "feature_sets": [fs.name for fs in self.feature_sets],
                "length": self.fixed_length}

    def element_keys(self) -> list[str]:
        if self.rank == "sequence":
            return [self.name, f"{self.name}_mask"]
        if self.rank == "vector":
            return [self.name]
        return [f"{self.name}_{k}" for k in TOKEN_KEYS]


def distinct_sets(feeds: Sequence[InputFeed]) -> dict[str, store.FeatureSet]:
    """Every feature set read by the feeds, once, by name (in feed order)."""
    sets: dict[str, store.FeatureSet] = {}
    for feed in feeds:
        for fs in feed.feature_sets:
            sets.setdefault(fs.name, fs)
    return sets


def available_ids(feature_sets: Mapping[str, store.FeatureSet] | Sequence[store.FeatureSet],
                  wanted: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """``wanted`` ids present in every feature set (store order) and why the others are not.

    With no feature set at all (a transcript-only model) every wanted id is available, in
    the given order."""
    sets = list(feature_sets.values()) if isinstance(feature_sets, Mapping) else list(feature_sets)
    if not sets:
        return list(wanted), {}
    wanted_set = set(wanted)
    present = [set(fs.utt_ids) for fs in sets]
    ids = [u for u in sets[0].utt_ids if u in wanted_set and all(u in p for p in present)]
    missing = {}
    for u in sorted(wanted_set - set(ids)):
        reasons = [f"{fs.name}: {fs.failures.get(u, 'not in store')}"
                   for fs in sets if u not in fs.utt_ids]
        missing[u] = "; ".join(reasons)
    return ids, missing


def check_frame_counts(feeds: Sequence[InputFeed], ids: Sequence[str]) -> None:
    """Concatenated sequence sets must have the same frame count per utterance (+-1)."""
    for feed in feeds:
        if feed.rank != "sequence" or len(feed.feature_sets) < 2:
            continue
        for u in ids:
            lengths = [fs.lengths[u] for fs in feed.feature_sets]
            if max(lengths) - min(lengths) > MAX_FRAME_MISMATCH:
                names = ", ".join(f"{fs.name} {n}" for fs, n in zip(feed.feature_sets, lengths))
                raise StoreError(f"input {feed.name}: {u} has {names} frames; sequence sets "
                                 "concatenated on the feature axis need the same frame rate "
                                 "(feed them as separate streams instead)")


# --------------------------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------------------------
def make_dataset(feeds: Sequence[InputFeed], targets: Mapping[str, Any], *, batch_size: int,
                 shuffle: bool = False, seed: int = 0, training: bool | None = None,
                 cache: bool = True, drop_remainder: bool = False,
                 sample_weights: Sequence[float] | None = None,
                 pad_to_longest_in_corpus: bool = False):
    """Batched dataset of the utterances in ``targets`` (utt_id -> class index or list of
    values) that have every feature, and their order.

    ``training`` (default: ``shuffle``) applies random crops; ``sample_weights`` (per class
    index) adds a per-sample weight; ``pad_to_longest_in_corpus`` pads every batch to the
    longest sample of the selection, from the store's recorded lengths (for the padding
    benchmark).
    """
    import tensorflow as tf

    training = shuffle if training is None else training
    sets = distinct_sets(feeds)
    ids, _ = available_ids(sets, list(targets))
    if not ids:
        raise StoreError("no utterance of the selection has features in every feature set")
    check_frame_counts(feeds, ids)
    index = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
        tf.constant(ids), tf.range(len(ids), dtype=tf.int32)), default_value=-1)
    values = [targets[u] for u in ids]
    regression = isinstance(values[0], (list, tuple, np.ndarray))
    target_table = tf.constant(np.asarray(values, np.float32 if regression else np.int32))
    weight_table = (tf.constant(np.asarray(sample_weights, np.float32))
                    if sample_weights is not None else None)
    text_tables = {feed.name: _text_table(feed, ids) for feed in feeds if feed.rank == "tokens"}

    names = list(sets)
    if names:
        streams = [sets[n].dataset().filter(lambda r: index.lookup(r["utt_id"]) >= 0)
                   for n in names]
        ds = tf.data.Dataset.zip(tuple(streams))
    else:  # transcript-only: the ids themselves
        ds = tf.data.Dataset.from_tensor_slices(tf.constant(ids)).map(
            lambda u: ({"utt_id": u},))

    def join(*records):
        first = records[0]["utt_id"]
        checks = [tf.debugging.assert_equal(r["utt_id"], first, message="feature sets out of "
                                            "step: rebuild the store") for r in records[1:]]
        with tf.control_dependencies(checks):
            by_name = dict(zip(names, (r["features"] for r in records)))
            inputs = {}
            for feed in feeds:
                if feed.rank == "tokens":
                    tokens = feed.preprocessor(text_tables[feed.name].lookup(first))
                    for key in TOKEN_KEYS:
                        inputs[f"{feed.name}_{key}"] = tf.cast(tokens[key], tf.int32)
                    continue
                parts = [by_name[fs.name] for fs in feed.feature_sets]
                if feed.rank == "sequence":
                    if len(parts) > 1:
                        steps = tf.reduce_min([tf.shape(p)[0] for p in parts])
                        parts = [p[:steps] for p in parts]
                    x = parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1)
                    if feed.fixed_length is not None:
                        x = x[:feed.fixed_length]
                    inputs[feed.name] = x
                    inputs[f"{feed.name}_mask"] = tf.ones(tf.shape(x)[:1], tf.float32)
                else:
                    inputs[feed.name] = parts[0] if len(parts) == 1 else tf.concat(parts, -1)
            row = index.lookup(first)
            return inputs, tf.gather(target_table, row)

    ds = ds.map(join, num_parallel_calls=tf.data.AUTOTUNE)
    # The filter hides the size; state it so Keras knows where an epoch ends (and checks it).
    ds = ds.apply(tf.data.experimental.assert_cardinality(len(ids)))
    if cache:
        ds = ds.cache()  # parsed once, read from memory every later epoch
    if shuffle:
        ds = ds.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
    crops = {f.name: f.crop_length for f in feeds if f.rank == "sequence" and f.crop_length}
    if training and crops:
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.random(
            seed=seed, rerandomize_each_iteration=True))).map(
            lambda element, r: _crop(element, r, crops), num_parallel_calls=tf.data.AUTOTUNE)
    if weight_table is not None:
        ds = ds.map(lambda x, y: (x, y, tf.gather(weight_table, y)))
    ds = ds.padded_batch(batch_size, padded_shapes=_padded_shapes(
        feeds, ids, regression, len(values[0]) if regression else 0, weight_table is not None,
        pad_to_longest_in_corpus), drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE), ids


def shard_errors(feeds: Sequence[InputFeed] | None = None):
    """Context manager around what iterates ``make_dataset``'s datasets (``model.fit``,
    ``predict``): a shard damaged after the set was opened (TensorFlow's "corrupted record",
    a ``DataLossError`` naming no file) becomes a one-line StoreError naming the shard and the
    ser-prepare command that re-extracts it (``store.shard_errors``). ``feeds`` None: every
    feature set this process has read.

    >>> with data_input.shard_errors(feeds):
    ...     model.fit(train_ds, ...)
    """
    return store.shard_errors(None if feeds is None else list(distinct_sets(feeds).values()))


def _text_table(feed: InputFeed, ids: Sequence[str]):
    import tensorflow as tf

    lacking = [u for u in ids if u not in feed.texts]
    if lacking:
        raise StoreError(f"input {feed.name}: no transcript for {len(lacking)} utterance(s), "
                         f"e.g. {lacking[0]}")
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
        tf.constant(list(ids)), tf.constant([feed.texts[u] for u in ids])), default_value="")


def _crop(element, random, crops: dict[str, int]):
    """A random window of ``length`` frames of each cropped input (whole when shorter)."""
    import tensorflow as tf

    inputs, rest = element[0], element[1:]
    inputs = dict(inputs)
    for k, (name, length) in enumerate(sorted(crops.items())):
        x = inputs[name]
        room = tf.maximum(tf.shape(x)[0] - length, 0)
        # Dataset.random gives one int64 per element (new every epoch): the seed of a
        # stateless draw per cropped input.
        start = tf.random.stateless_uniform([], seed=tf.stack([random, tf.constant(k, tf.int64)]),
                                            minval=0, maxval=room + 1, dtype=tf.int32)
        x = x[start:start + length]
        inputs[name] = x
        inputs[f"{name}_mask"] = tf.ones(tf.shape(x)[:1], tf.float32)
    return (inputs, *rest)


def _padded_shapes(feeds, ids, regression: bool, n_targets: int, weighted: bool,
                   longest_in_corpus: bool):
    shapes: dict[str, list] = {}
    for feed in feeds:
        if feed.rank == "sequence":
            length = feed.fixed_length
            if length is None and longest_in_corpus:
                length = max(min(fs.longest(ids) for fs in feed.feature_sets), 1)
            elif length is None and feed.options.pad_to_longest:
                # every utterance of the set, so train, validation and test share one length
                # (a cross-corpus test set is padded to its own corpus's longest sample)
                length = max(min(fs.longest() for fs in feed.feature_sets), 1)
            shapes[feed.name] = [length, feed.dim]
            shapes[f"{feed.name}_mask"] = [length]
        elif feed.rank == "vector":
            shapes[feed.name] = [feed.dim]
        else:
            for key in TOKEN_KEYS:
                shapes[f"{feed.name}_{key}"] = [None]
    target = [n_targets] if regression else []
    return (shapes, target, []) if weighted else (shapes, target)


# --------------------------------------------------------------------------------------------
# Targets and specs
# --------------------------------------------------------------------------------------------
def label_indices(rows: Sequence[dict], class_set: ClassSet) -> dict[str, int]:
    return {r["utt_id"]: class_set.index(r["label"]) for r in rows}


def continuous_targets(rows: Sequence[dict], columns: Sequence[str], where: str = ""
                       ) -> tuple[dict[str, list[float]], dict[str, str]]:
    """utt_id -> [values of ``columns``] for rows that have them all, and why others do not.

    A column is a manifest column (valence, arousal, dominance) or, when no such column
    exists, a name of the manifest's ``scores`` (CMU-MOSEI's emotion intensities: happy ...):
    see ``check_targets``. ``where`` (the manifest) names the file in errors."""
    columns = list(columns)
    scored = [c for c in columns if c not in store.MANIFEST_COLUMNS]
    if scored:
        check_targets(rows, columns, where)
    values, lacking = {}, {}
    for row in rows:
        scores = _scores(row, where) if scored else {}
        try:
            vector = [float(scores.get(c, math.nan)) if c in scored
                      else float(row.get(c) or "nan") for c in columns]
        except ValueError:
            vector = [math.nan]
        if all(math.isfinite(v) for v in vector):
            values[row["utt_id"]] = vector
        else:
            lacking[row["utt_id"]] = f"no {'/'.join(columns)} value"
    return values, lacking


def _scores(row: dict, where: str) -> dict[str, float]:
    try:
        return store.parse_scores(row.get("scores") or "", f"{where or 'manifest'}: "
                                                           f"{row.get('utt_id', '?')}")
    except ValueError as err:
        raise StoreError(f"{err}; re-run ser-prepare") from None


def check_targets(rows: Sequence[dict], columns: Sequence[str], where: str = "") -> None:
    """ConfigError unless every continuous target is a manifest column or a score some row
    has (naming the scores the rows do have, or that the manifest has none)."""
    named: set[str] = set()
    for row in rows:
        if row.get("scores"):
            named |= set(_scores(row, where))
    unknown = [c for c in columns if c not in store.MANIFEST_COLUMNS and c not in named]
    if unknown and rows:
        corpus = rows[0].get("corpus") or "the corpus"
        have = (f"scores: {', '.join(sorted(named))}" if named else
                f"no row has scores (a corpus with scores prepared before they were kept: "
                f"re-run ser-prepare {corpus})")
        raise ConfigError(f"targets {unknown}: no manifest column or score of {corpus} "
                          f"{where and f'({where}) '}(valence, arousal, dominance; {have})")


def class_counts(rows: Sequence[dict], class_set: ClassSet) -> dict[str, int]:
    counts = collections.Counter(class_set.mapping[r["label"]] for r in rows)
    return {c: counts.get(c, 0) for c in class_set.classes}


def input_spec(feeds: Sequence[InputFeed] | Mapping[str, store.FeatureSet],
               num_classes: int | None = None, num_values: int | None = None) -> dict:
    """What a model builder needs: each input's rank and dim, and the outputs.

    Also takes a ``{name: FeatureSet}`` mapping (one set per input, its own rank)."""
    if isinstance(feeds, Mapping):
        feeds = [InputFeed(name, fs.metadata.get("rank", "sequence"), [fs])
                 for name, fs in feeds.items()]
    spec: dict[str, Any] = {"inputs": {f.name: f.spec() for f in feeds}}
    if num_values:
        spec.update(num_outputs=int(num_values), output="values")
    else:
        spec["num_classes"] = int(num_classes)
    return spec

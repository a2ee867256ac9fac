"""Augmented copies at stage 2: keep every copy on its source's side of a fold.

``ser-prepare ... --augment noise:copies=N`` adds manifest rows ``<source>~noise<k>`` whose
``source_id`` names the original (``data_prep.augment``). A protocol run over originals and
copies alike would put a noisy copy of a test utterance in training: the model has then heard
the test utterance. So the default reading here (``after-split``) splits the ORIGINALS, then
adds each training utterance's copies to ``train``; copies of validation and test utterances
are used nowhere (augmentation enlarges training only, validation and test stay clean)::

    originals, copies = protocol_rows(rows, mode)             # what the protocol sees
    folds = make_folds(protocol, originals, **options)
    folds = attach_copies(folds, copies, mode)                # info: augmented_train, ...

or in one call ``make_augmented_folds(protocol, rows, mode, **options)``.

``before-split`` is the other reading of kakuba2023 Sec. III-D ("we carefully apply data
augmentation by adding noise ... and then extracting"; the split is not stated): copies are
independent utterances for the protocol, so under a random split copies of test utterances
reach training. It exists to measure that leak; ``fold.info["leaked_test_sources"]`` says how
many test utterances have a copy (or their source) in training. ``none`` drops the copies.

Pure functions on manifest rows (dicts with ``utt_id`` and, for copies, ``source_id``) and
:class:`~ser_keras.data.protocols.Fold` objects; nothing here reads the store.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from ser_keras.data.protocols import Fold, make_folds
from ser_keras.errors import ProtocolError

MODES = ("after-split", "before-split", "none")
HELD_OUT = ("validation", "test")


def is_copy(row: Mapping) -> bool:
    return bool(row.get("source_id"))


def split_copies(rows: Sequence[Mapping]) -> tuple[list, dict[str, list]]:
    """(originals, copies_by_source): rows without ``source_id``, and the copies of each
    source (sorted by utt_id), in the rows' order otherwise."""
    originals, copies = [], {}
    for row in rows:
        if is_copy(row):
            copies.setdefault(row["source_id"], []).append(row)
        else:
            originals.append(row)
    for group in copies.values():
        group.sort(key=lambda r: r["utt_id"])
    return originals, copies


def source_map(copies_by_source: Mapping[str, Sequence[Mapping]]) -> dict[str, str]:
    """copy utt_id -> source utt_id."""
    return {c["utt_id"]: source for source, group in copies_by_source.items() for c in group}


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ProtocolError(f"unknown augmentation mode {mode!r}; known: {', '.join(MODES)}")


def protocol_rows(rows: Sequence[Mapping], mode: str = "after-split"
                  ) -> tuple[list, dict[str, list]]:
    """(the rows to give the protocol, copies_by_source) for ``mode``.

    ``after-split`` and ``none``: the originals; ``before-split``: every row, copies included.
    """
    _check_mode(mode)
    originals, copies = split_copies(rows)
    return (list(rows) if mode == "before-split" else originals), copies


def attach_copies(folds: Sequence[Fold], copies_by_source: Mapping[str, Sequence[Mapping]],
                  mode: str = "after-split") -> list[Fold]:
    """New folds with the copies placed (or, for ``before-split``, accounted for).

    ``after-split``: ``folds`` were made from originals; each training utterance's copies are
    added to ``train`` (kept sorted), copies of validation/test utterances (and of utterances
    the fold left out) are used nowhere. ``fold.info`` gets ``augmented_train`` (copies added)
    and ``copies_unused`` (by where their source is: validation, test, outside the fold); then
    :func:`assert_copies_with_source` checks the result.

    ``before-split``: ``folds`` were made from originals and copies together; the folds are
    kept as they are and ``fold.info`` gets ``leaked_test_sources`` (test utterances whose
    source or a copy of it is in train), ``leaked_validation_sources``, and
    ``copies_in_train``.

    ``none``: copies are dropped; ``fold.info["copies_unused"]`` counts them.
    """
    _check_mode(mode)
    source_of = source_map(copies_by_source)
    result = []
    for fold in folds:
        info = dict(fold.info, augmentation_mode=mode)
        if mode == "before-split":
            leaked = _leaks(fold, source_of)
            info.update(copies_in_train=sum(u in source_of for u in fold.train),
                        leaked_test_sources=leaked["test"],
                        leaked_validation_sources=leaked["validation"])
            result.append(dataclasses.replace(fold, info=info))
            continue
        stray = [u for p in ("train", *HELD_OUT) for u in getattr(fold, p) if u in source_of]
        if stray:
            raise ProtocolError(f"fold {fold.name}: {len(stray)} augmented copies (first: "
                                f"{stray[0]}) are already in the fold; {mode} folds are made "
                                f"from originals only (protocol_rows)")
        train = list(fold.train)
        if mode == "after-split":
            train += [c["utt_id"] for u in fold.train for c in copies_by_source.get(u, ())]
            train.sort()
        part_of = {u: p for p in ("train", *HELD_OUT) for u in getattr(fold, p)}
        unused = {"validation": 0, "test": 0, "outside": 0}
        if mode == "none":
            unused["train"] = 0
        for source, group in copies_by_source.items():
            part = part_of.get(source, "outside")
            if part == "train" and mode == "after-split":
                continue
            unused[part] += len(group)
        info.update(augmented_train=len(train) - len(fold.train),
                    copies_unused=sum(unused.values()), copies_unused_by_part=unused)
        new = dataclasses.replace(fold, train=train, info=info)
        if mode == "after-split":
            assert_copies_with_source(new, source_of)
        result.append(new)
    return result


def _leaks(fold: Fold, source_of: Mapping[str, str]) -> dict[str, int]:
    """Held-out utterance families (source + copies) with a member in train, per part."""
    root = lambda u: source_of.get(u, u)
    in_train = {root(u) for u in fold.train}
    return {p: len({root(u) for u in getattr(fold, p)} & in_train) for p in HELD_OUT}


def assert_copies_with_source(fold: Fold, source_of: Mapping[str, str]) -> None:
    """Raise AssertionError if a copy sits on another side (train vs validation/test) than its
    source, or its source is in no part of the fold. ``source_of``: copy utt_id -> source."""
    side = {u: ("train" if p == "train" else "held out")
            for p in ("train", *HELD_OUT) for u in getattr(fold, p)}
    for part in ("train", *HELD_OUT):
        for utt_id in getattr(fold, part):
            source = source_of.get(utt_id)
            if source is None:
                continue
            if source not in side:
                raise AssertionError(f"fold {fold.name}: copy {utt_id} is in {part} but its "
                                     f"source {source} is in no part of the fold")
            if side[source] != side[utt_id]:
                where = next(p for p in ("train", *HELD_OUT) if source in getattr(fold, p))
                raise AssertionError(f"fold {fold.name}: copy {utt_id} is in {part} but its "
                                     f"source {source} is in {where}")


def make_augmented_folds(protocol: str, rows: Sequence[Mapping], mode: str = "after-split",
                         **options) -> list[Fold]:
    """Folds of ``protocol`` over manifest rows that may hold augmented copies (see above).

    Without copies in ``rows`` the folds are ``make_folds``'s, with the counts (all 0) added.
    """
    for_protocol, copies = protocol_rows(rows, mode)
    return attach_copies(make_folds(protocol, for_protocol, **options), copies, mode)

"""Evaluation protocols: selected manifest rows -> folds of utt_ids {train, validation, test}.

| protocol | folds | source |
|---|---|---|
| ``loso10`` | 10: test one IEMOCAP speaker, validation the partner, train the other sessions | ho2020 Sec. IV-A, App. B; triantafyllopoulos2022 |
| ``loso-session`` | 5: test one session, validation the next session, train the other three | common IEMOCAP practice |
| ``script-disjoint`` | 5: as loso-session, minus every scripted utterance of a script the test session performs | beyond the papers: text leakage |
| ``official`` | 1: the release's own split (manifest ``split``: train / validation / test) | MELD, MOSEI, MSP-Podcast |
| ``sd-80-10-10`` | 1: stratified random 80/10/10 over all sessions | alqurashi2024 (speaker dependent) |
| ``si-session5`` | 1: sessions 1-4 train, session 5 male validation, session 5 female test | alqurashi2024 (speaker independent) |
| ``random-stratified`` | 1: stratified random 80/10/10, any corpus | kakuba2023 (split not stated) |
| ``speaker-kfold`` | k (default 5): speaker-disjoint, class-stratified folds, validation = the next fold's speakers | any corpus with speakers |

Random protocols draw from ``options["seed"]`` (default 0), never from the training seed: the
folds of an experiment are the same for all its training seeds. Speaker-independent protocols
assert that no speaker crosses train, validation and test.
"""
from __future__ import annotations

import collections
import dataclasses
import re
from typing import Callable, Sequence

from ser_keras.errors import ProtocolError  # noqa: F401  (re-exported)


@dataclasses.dataclass
class Fold:
    index: int
    name: str
    train: list[str]
    validation: list[str]
    test: list[str]
    info: dict

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)




def assert_speaker_disjoint(fold: Fold, speaker_of: dict[str, str]) -> None:
    parts = {p: {speaker_of[u] for u in getattr(fold, p)} for p in ("train", "validation", "test")}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        shared = parts[a] & parts[b]
        if shared:
            raise AssertionError(f"fold {fold.name}: speaker(s) {sorted(shared)} in both {a} "
                                 f"and {b}")


def _sorted(rows: Sequence[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: r["utt_id"])


def _speakers(rows: Sequence[dict]) -> dict[str, str]:
    missing = [r["utt_id"] for r in rows if not r.get("speaker")]
    if missing:
        raise ProtocolError(f"{len(missing)} utterance(s) without a speaker (first: "
                            f"{missing[0]}): this protocol needs speakers")
    return {r["utt_id"]: r["speaker"] for r in _sorted(rows)}


def _sessions(rows: Sequence[dict]) -> dict[str, int]:
    try:
        return {r["utt_id"]: int(r["session"]) for r in rows}
    except (KeyError, TypeError, ValueError):
        raise ProtocolError("this protocol needs IEMOCAP-style sessions in the manifest")\
            from None


# --------------------------------------------------------------------------------------------
# Speaker / session protocols (IEMOCAP)
# --------------------------------------------------------------------------------------------
def loso10(rows: Sequence[dict], **_) -> list[Fold]:
    """Leave-one-speaker-out over IEMOCAP's 5 sessions x 2 speakers (10 folds)."""
    speaker_of = _speakers(rows)
    session_of = {r["speaker"]: int(r["session"]) for r in rows}
    speakers = sorted(session_of)
    sessions = sorted(set(session_of.values()))
    if len(speakers) != 10 or len(sessions) != 5:
        raise ProtocolError(f"loso10 needs 10 speakers in 5 sessions; the selection has "
                            f"{len(speakers)} speakers in {len(sessions)} sessions")
    folds = []
    for index, test_speaker in enumerate(speakers):
        session = session_of[test_speaker]
        partner = next(s for s in speakers if session_of[s] == session and s != test_speaker)
        fold = Fold(
            index=index, name=f"test-{test_speaker}",
            train=[u for u, s in speaker_of.items() if session_of[s] != session],
            validation=[u for u, s in speaker_of.items() if s == partner],
            test=[u for u, s in speaker_of.items() if s == test_speaker],
            info={"test_speaker": test_speaker, "validation_speaker": partner,
                  "test_session": session})
        assert_speaker_disjoint(fold, speaker_of)
        folds.append(fold)
    return folds


def loso_session(rows: Sequence[dict], **_) -> list[Fold]:
    """Leave-one-session-out: test session k, validation session k+1 (cyclic), train the rest."""
    speaker_of, session_of = _speakers(rows), _sessions(rows)
    sessions = sorted(set(session_of.values()))
    if len(sessions) < 3:
        raise ProtocolError(f"loso-session needs at least 3 sessions; found {sessions}")
    folds = []
    for index, test in enumerate(sessions):
        validation = sessions[(index + 1) % len(sessions)]
        fold = Fold(
            index=index, name=f"test-session{test}",
            train=[u for u in speaker_of if session_of[u] not in (test, validation)],
            validation=[u for u in speaker_of if session_of[u] == validation],
            test=[u for u in speaker_of if session_of[u] == test],
            info={"test_session": test, "validation_session": validation})
        assert_speaker_disjoint(fold, speaker_of)
        folds.append(fold)
    return folds


SCRIPT = re.compile(r"_script(?P<script>\d{2})")


def script_disjoint(rows: Sequence[dict], **options) -> list[Fold]:
    """loso-session folds with no script shared between test and train/validation.

    IEMOCAP's scripted dialogs replay the same few scripts in every session, so a text model
    can recognise a test line it was trained on. Here every scripted utterance whose script
    (``script01``...) occurs in the test session is removed from train and validation. As every
    session performs every script, training then keeps the improvised dialogs and the scripted
    utterances of scripts the test session lacks; compare with loso-session to size the leak.
    """
    script_of = {r["utt_id"]: (m["script"] if (m := SCRIPT.search(r.get("dialog") or "")) else None)
                 for r in rows}
    folds = []
    for fold in loso_session(rows, **options):
        test_scripts = {script_of[u] for u in fold.test} - {None}
        keep = lambda ids: [u for u in ids if script_of[u] not in test_scripts]
        removed = len(fold.train) + len(fold.validation)
        fold.train, fold.validation = keep(fold.train), keep(fold.validation)
        removed -= len(fold.train) + len(fold.validation)
        fold.info.update(test_scripts=sorted(test_scripts), removed_for_shared_scripts=removed)
        if not fold.train:
            raise ProtocolError(f"script-disjoint fold {fold.name}: no training utterance left")
        folds.append(fold)
    return folds


def si_session5(rows: Sequence[dict], **_) -> list[Fold]:
    """alqurashi2024 SI: sessions 1-4 train; session 5 male validation, female test."""
    speaker_of, session_of = _speakers(rows), _sessions(rows)
    gender = {r["utt_id"]: r.get("gender") for r in rows}
    fold = Fold(
        index=0, name="session5",
        train=[u for u in speaker_of if session_of[u] != 5],
        validation=[u for u in speaker_of if session_of[u] == 5 and gender[u] == "M"],
        test=[u for u in speaker_of if session_of[u] == 5 and gender[u] == "F"],
        info={"validation_speaker": "Ses05M", "test_speaker": "Ses05F"})
    if not (fold.train and fold.validation and fold.test):
        raise ProtocolError("si-session5 needs sessions 1-4 and both speakers of session 5")
    assert_speaker_disjoint(fold, speaker_of)
    return [fold]


def speaker_kfold(rows: Sequence[dict], k: int = 5, seed: int = 0, **_) -> list[Fold]:
    """Speaker-disjoint folds, as class-balanced as the speakers allow.

    Speakers are dealt into k groups by scikit-learn's StratifiedGroupKFold (shuffled with
    ``seed``), which keeps every speaker in one group while matching each group's label
    distribution to the corpus's; fold i tests group i and validates on group i+1. Where
    speakers and emotions are confounded (e.g. URDU's talk-show speakers), groups still differ.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    speaker_of = _speakers(rows)
    speakers = sorted(set(speaker_of.values()))
    if len(speakers) < 3:
        raise ProtocolError(f"speaker-kfold needs at least 3 speakers; found {len(speakers)}")
    k = min(k, len(speakers))
    label_of = {r["utt_id"]: r["label"] for r in rows}
    ids = list(speaker_of)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    groups = [sorted({speaker_of[ids[i]] for i in test})
              for _, test in splitter.split(ids, [label_of[u] for u in ids],
                                            [speaker_of[u] for u in ids])]
    folds = []
    for index in range(k):
        test, validation = set(groups[index]), set(groups[(index + 1) % k])
        fold = Fold(
            index=index, name=f"speakers-{index}",
            train=[u for u, s in speaker_of.items() if s not in test | validation],
            validation=[u for u, s in speaker_of.items() if s in validation],
            test=[u for u, s in speaker_of.items() if s in test],
            info={"test_speakers": sorted(test), "validation_speakers": sorted(validation),
                  "seed": seed})
        assert_speaker_disjoint(fold, speaker_of)
        folds.append(fold)
    return folds


# --------------------------------------------------------------------------------------------
# Split protocols
# --------------------------------------------------------------------------------------------
def official(rows: Sequence[dict], **_) -> list[Fold]:
    """The release's own split: manifest ``split`` = train / validation / test."""
    by_split = collections.defaultdict(list)
    for r in _sorted(rows):
        by_split[r.get("split") or ""].append(r["utt_id"])
    missing = [s for s in ("train", "validation", "test") if not by_split.get(s)]
    if missing:
        raise ProtocolError(f"official: the manifest has no {', '.join(missing)} split; this "
                            f"corpus has no official split (use speaker-kfold)")
    other = sorted(s for s in by_split if s not in ("train", "validation", "test"))
    return [Fold(0, "official", by_split["train"], by_split["validation"], by_split["test"],
                 {"other_splits_not_used": {s: len(by_split[s]) for s in other}})]


def random_stratified(rows: Sequence[dict], seed: int = 0,
                      fractions: Sequence[float] = (0.8, 0.1, 0.1), **_) -> list[Fold]:
    """A stratified random train/validation/test split (by label), with ``seed``."""
    from sklearn.model_selection import train_test_split

    rows = _sorted(rows)
    ids = [r["utt_id"] for r in rows]
    labels = [r["label"] for r in rows]
    train_f, val_f, test_f = fractions
    if abs(train_f + val_f + test_f - 1) > 1e-9:
        raise ProtocolError(f"fractions {fractions} do not sum to 1")
    try:
        train, rest, _, rest_labels = train_test_split(
            ids, labels, test_size=val_f + test_f, stratify=labels, random_state=seed)
        validation, test = train_test_split(
            rest, test_size=test_f / (val_f + test_f), stratify=rest_labels, random_state=seed)
    except ValueError as err:  # a class too small to stratify
        raise ProtocolError(f"cannot stratify this selection: {err}") from None
    return [Fold(0, "random-stratified", sorted(train), sorted(validation), sorted(test),
                 {"seed": seed, "fractions": list(fractions), "speaker_independent": False})]


def sd_80_10_10(rows: Sequence[dict], seed: int = 0, **_) -> list[Fold]:
    """alqurashi2024 SD: all sessions, stratified 80/10/10."""
    return random_stratified(rows, seed=seed, fractions=(0.8, 0.1, 0.1))


PROTOCOLS: dict[str, Callable[..., list[Fold]]] = {
    "loso10": loso10,
    "loso-session": loso_session,
    "script-disjoint": script_disjoint,
    "official": official,
    "sd-80-10-10": sd_80_10_10,
    "si-session5": si_session5,
    "random-stratified": random_stratified,
    "speaker-kfold": speaker_kfold,
}


def make_folds(protocol: str, rows: Sequence[dict], **options) -> list[Fold]:
    try:
        build = PROTOCOLS[protocol]
    except KeyError:
        raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(sorted(PROTOCOLS))}")\
            from None
    return build(rows, **options)

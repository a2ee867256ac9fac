"""Evaluation protocols: a manifest (selected rows) -> folds of utt_ids {train, validation, test}.

``loso10`` (ho2020 Sec. IV-A, App. B; triantafyllopoulos2022): IEMOCAP's 10 speakers; fold k
tests one speaker, validates on the other speaker of the same session, trains on the other four
sessions. Fold order: Ses01F, Ses01M, Ses02F, ... Ses05M. Every fold asserts that no speaker
crosses train, validation and test.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Sequence


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


class ProtocolError(ValueError):
    """The selected rows cannot be split under the protocol (missing speakers, sessions...)."""


def assert_speaker_disjoint(fold: Fold, speaker_of: dict[str, str]) -> None:
    parts = {p: {speaker_of[u] for u in getattr(fold, p)} for p in ("train", "validation", "test")}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        shared = parts[a] & parts[b]
        if shared:
            raise AssertionError(f"fold {fold.name}: speaker(s) {sorted(shared)} in both {a} "
                                 f"and {b}")


def loso10(rows: Sequence[dict]) -> list[Fold]:
    """Leave-one-speaker-out over IEMOCAP's 5 sessions x 2 speakers (10 folds)."""
    speaker_of = {r["utt_id"]: r["speaker"] for r in sorted(rows, key=lambda r: r["utt_id"])}
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


PROTOCOLS: dict[str, Callable[[Sequence[dict]], list[Fold]]] = {"loso10": loso10}


def make_folds(protocol: str, rows: Sequence[dict]) -> list[Fold]:
    try:
        build = PROTOCOLS[protocol]
    except KeyError:
        raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(sorted(PROTOCOLS))}")\
            from None
    return build(rows)

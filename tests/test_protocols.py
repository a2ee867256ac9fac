"""Class sets and protocols: loso10 fold sizes, speaker disjointness, determinism."""
import pytest

from ser_keras.data import ProtocolError, get_class_set, make_folds
from ser_keras.data.input import select_rows
from ser_keras.data.protocols import Fold, assert_speaker_disjoint


def _rows(per_speaker=4, sessions=5):
    return [{"utt_id": f"Ses{s:02d}_{g}{t:03d}", "speaker": f"Ses{s:02d}{g}", "session": str(s),
             "scenario": "improvised" if t % 2 else "scripted", "label": "neu", "status": "ok"}
            for s in range(1, sessions + 1) for g in "FM" for t in range(per_speaker)]


def test_loso10_tests_each_speaker_and_validates_on_the_partner():
    rows = _rows()
    folds = make_folds("loso10", rows)
    assert [f.info["test_speaker"] for f in folds] == [
        f"Ses{s:02d}{g}" for s in range(1, 6) for g in "FM"]
    for fold in folds:
        session = fold.info["test_session"]
        assert fold.info["validation_speaker"][:5] == f"Ses{session:02d}"
        assert fold.info["validation_speaker"] != fold.info["test_speaker"]
        assert (len(fold.train), len(fold.validation), len(fold.test)) == (32, 4, 4)
        assert not any(u.startswith(f"Ses{session:02d}") for u in fold.train)
        assert sorted(fold.train + fold.validation + fold.test) == sorted(r["utt_id"] for r in rows)


def test_loso10_is_deterministic():
    a = make_folds("loso10", _rows())
    b = make_folds("loso10", list(reversed(_rows())))  # independent of the manifest order
    assert [f.to_dict() for f in a] == [f.to_dict() for f in b]


def test_loso10_refuses_a_selection_without_ten_speakers():
    with pytest.raises(ProtocolError, match="10 speakers in 5 sessions"):
        make_folds("loso10", _rows(sessions=4))


def test_speaker_leak_is_caught():
    speaker_of = {"a": "S1", "b": "S2", "c": "S1"}
    with pytest.raises(AssertionError, match="S1"):
        assert_speaker_disjoint(Fold(0, "x", ["a"], ["b"], ["c"], {}), speaker_of)


def test_unknown_protocol_lists_the_known_ones():
    with pytest.raises(ValueError, match="known: loso10"):
        make_folds("nope", _rows())


def test_class_sets_map_iemocap_codes():
    four, eight = get_class_set("iemocap4"), get_class_set("iemocap8")
    assert four.classes == ("neutral", "angry", "sad", "happy")
    assert four.index("exc") == four.index("hap") == 3 and four.index("fru") is None
    assert eight.num_classes == 8 and eight.index("exc") != eight.index("hap")
    assert four.index("xxx") is None and eight.index("dis") is None


def test_select_rows_filters_status_label_and_scenario():
    rows = _rows(per_speaker=2)
    rows[0]["status"] = "missing_audio"
    rows[1]["label"] = "xxx"
    kept, left_out = select_rows(rows, get_class_set("iemocap4"), "improvised")
    assert len(kept) == 9 and all(r["scenario"] == "improvised" for r in kept)
    assert left_out == {"label xxx not in iemocap4": 1, "scenario scripted": 9,
                        "status missing_audio": 1}

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
    with pytest.raises(ValueError, match="known:.*loso10"):
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


def _iemocap_rows(per_speaker=6):
    rows = []
    for s in range(1, 6):
        for g in "FM":
            for t in range(per_speaker):
                kind = f"script0{t % 3 + 1}_1" if t % 2 else "impro01"
                rows.append({"utt_id": f"Ses{s:02d}F_{kind}_{g}{t:03d}", "speaker": f"Ses{s:02d}{g}",
                             "gender": g, "session": str(s), "dialog": f"Ses{s:02d}F_{kind}",
                             "label": "neu ang sad hap".split()[t % 4], "split": ""})
    return rows


def test_loso_session_tests_each_session_once():
    folds = make_folds("loso-session", _iemocap_rows())
    assert [f.info["test_session"] for f in folds] == [1, 2, 3, 4, 5]
    assert [f.info["validation_session"] for f in folds] == [2, 3, 4, 5, 1]
    assert all(len(f.test) == 12 and len(f.validation) == 12 and len(f.train) == 36 for f in folds)


def test_script_disjoint_keeps_test_scripts_out_of_training():
    rows = _iemocap_rows(per_speaker=12)
    script = {r["utt_id"]: r["dialog"].split("_")[1] for r in rows}
    for fold in make_folds("script-disjoint", rows):
        test_scripts = {script[u] for u in fold.test if script[u].startswith("script")}
        assert test_scripts == {"script01", "script02", "script03"}
        assert fold.info["test_scripts"] == ["01", "02", "03"]
        assert not {script[u] for u in fold.train + fold.validation} & test_scripts
        assert fold.train and fold.info["removed_for_shared_scripts"] == 36 + 12


def test_si_session5_and_official_splits():
    fold, = make_folds("si-session5", _iemocap_rows())
    assert {u[:5] for u in fold.train} == {"Ses01", "Ses02", "Ses03", "Ses04"}
    assert {u[:5] + u[-4] for u in fold.validation} == {"Ses05M"}   # turn letter = speaker
    assert {u[:5] + u[-4] for u in fold.test} == {"Ses05F"} and len(fold.test) == 6
    rows = _rows()
    for i, r in enumerate(rows):
        r["split"] = ("train", "train", "validation", "test")[i % 4]
    fold, = make_folds("official", rows)
    assert (len(fold.train), len(fold.validation), len(fold.test)) == (20, 10, 10)
    with pytest.raises(ProtocolError, match="no .*split"):
        make_folds("official", _rows())


def test_stratified_random_splits_are_seeded_and_stratified():
    rows = [{"utt_id": f"u{i:03d}", "speaker": "s", "label": "ab"[i % 2]} for i in range(200)]
    fold, = make_folds("sd-80-10-10", rows)
    again, = make_folds("random-stratified", rows, seed=0)
    other, = make_folds("random-stratified", rows, seed=1)
    assert (len(fold.train), len(fold.validation), len(fold.test)) == (160, 20, 20)
    assert fold.test == again.test != other.test
    assert sum(int(u[1:]) % 2 for u in fold.test) == 10  # both labels 50/50 in every part


def test_speaker_kfold_is_speaker_disjoint_balanced_and_seeded():
    rows = [{"utt_id": f"{s}_{t:03d}", "speaker": s, "label": "neu"}
            for s in "ABCDEFGHIJK" for t in range(10 + "ABCDEFGHIJK".index(s))]
    folds = make_folds("speaker-kfold", rows, k=5, seed=0)
    tested = [s for f in folds for s in f.info["test_speakers"]]
    assert sorted(tested) == list("ABCDEFGHIJK")               # every speaker tested once
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 20
    assert [f.to_dict() for f in folds] == [f.to_dict() for f in make_folds(
        "speaker-kfold", list(reversed(rows)), k=5, seed=0)]
    with pytest.raises(ProtocolError, match="without a speaker"):
        make_folds("speaker-kfold", [dict(r, speaker="") for r in rows])


def test_speaker_kfold_balances_classes_across_folds():
    # 20 speakers, each with a different mix of two labels: groups keep the corpus's 50/50.
    rows = [{"utt_id": f"S{s:02d}_{t:02d}", "speaker": f"S{s:02d}",
             "label": "ab"[int(t < 2 + (s % 7))]} for s in range(20) for t in range(10)]
    for fold in make_folds("speaker-kfold", rows, k=4, seed=1):
        test = set(fold.test)
        share_a = sum(r["label"] == "a" for r in rows if r["utt_id"] in test) / len(test)
        overall = sum(r["label"] == "a" for r in rows) / len(rows)
        assert abs(share_a - overall) < 0.12

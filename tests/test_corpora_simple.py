"""The single-folder corpus adapters (URDU, EmoDB, RAVDESS, SAVEE, TESS, CREMA-D, ASVP-ESD) on
miniature releases built in mini_corpora.py; every expected count is hand-counted there."""
from collections import Counter
from pathlib import Path

import pytest

import mini_corpora as mini
from data_prep.corpora import asvp_esd, crema_d, emodb, ravdess, savee, tess, urdu
from data_prep.errors import SourceError
from ser_keras.store import MANIFEST_COLUMNS

BUILDERS = {urdu: mini.build_urdu, emodb: mini.build_emodb, ravdess: mini.build_ravdess,
            savee: mini.build_savee, tess: mini.build_tess, crema_d: mini.build_crema_d,
            asvp_esd: mini.build_asvp_esd}
ADAPTERS = list(BUILDERS)


def _scan(adapter, tmp_path, **kwargs):
    root = BUILDERS[adapter](tmp_path, **kwargs)
    result = adapter.scan(root)
    return {r["utt_id"]: r for r in result.rows}, result.problems


def _by(rows, column, status=None):
    return Counter(r[column] for r in rows.values() if status is None or r["status"] == status)


def _problem(problems, name, words):
    return any(name in p and words in p for p in problems)


# --------------------------------------------------------------------------------------------
# What every adapter does the same way
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.NAME)
def test_rows_are_manifest_rows_with_unique_ids_and_absolute_paths(adapter, tmp_path):
    # act
    rows, problems = _scan(adapter, tmp_path)
    # assert
    for row in rows.values():
        assert set(row) <= set(MANIFEST_COLUMNS)
        assert row["corpus"] == adapter.NAME
        assert Path(row["audio_path"]).is_absolute() and Path(row["audio_path"]).is_file()
        assert (row["start_s"], row["end_s"], row["split"]) == (None, None, "")
        assert not Path(row["audio_path"]).name.startswith(".")
    assert all("\n" not in p for p in problems)
    assert _problem(problems, "._", "macOS resource-fork")       # junk reported, not a row


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.NAME)
def test_wrong_source_is_one_line_naming_the_path(adapter, tmp_path):
    # build
    missing, a_file, empty = tmp_path / "nope", tmp_path / "file.wav", tmp_path / "empty"
    a_file.write_bytes(b"")
    empty.mkdir()
    # act / assert
    for path in (missing, a_file, empty):
        with pytest.raises(SourceError) as err:
            adapter.scan(path)
        message = str(err.value)
        assert message.startswith(f"{path}: ") and "\n" not in message


# --------------------------------------------------------------------------------------------
# One test per corpus: statuses, labels, speakers, genders, texts
# --------------------------------------------------------------------------------------------
def test_urdu(tmp_path):
    rows, problems = _scan(urdu, tmp_path)
    assert len(rows) == 8
    assert _by(rows, "status") == {"ok": 7, "bad_filename": 1}
    assert _by(rows, "label", "ok") == {"angry": 2, "happy": 1, "neutral": 2, "sad": 2}
    assert rows["SM2_F1_A05"]["label"] == "sad"                      # the folder decides
    assert (rows["clip7"]["label"], rows["clip7"]["speaker"]) == ("", "")
    assert _by(rows, "speaker", "ok") == {"SM1": 3, "SF2": 1, "SF1": 1, "SM3": 1, "SM2": 1}
    assert _by(rows, "gender", "ok") == {"M": 5, "F": 2}
    assert {r["scenario"] for r in rows.values()} == {"natural"}
    assert len(problems) == 3
    assert _problem(problems, "clip7.wav", "SGX_FXX_EYY")
    assert _problem(problems, "SM2_F1_A05.wav", "disagrees with folder Sad")


def test_emodb(tmp_path):
    rows, problems = _scan(emodb, tmp_path)
    assert len(rows) == 9
    assert _by(rows, "status") == {"ok": 7, "unknown_label": 1, "bad_filename": 1}
    assert rows["03a01Zx"]["status"] == "unknown_label"
    assert rows["03a01Fa_copy"]["status"] == "bad_filename"
    assert _by(rows, "label", "ok") == {"F": 1, "W": 2, "L": 1, "T": 1, "N": 1, "E": 1}
    assert (rows["03a01Fa"]["speaker"], rows["03a01Fa"]["gender"]) == ("03", "M")
    assert (rows["08b10Wb"]["speaker"], rows["08b10Wb"]["gender"]) == ("08", "F")
    assert rows["99a01Wa"]["gender"] == ""
    assert rows["03a01Fa"]["text"] == "Der Lappen liegt auf dem Eisschrank."
    assert rows["03a03Ea"]["text"] == ""
    assert len(emodb.TEXTS) == 10
    assert len(problems) == 5
    assert _problem(problems, "99a01Wa.wav", "speaker 99")
    assert _problem(problems, "03a03Ea.wav", "text code a03")


def test_ravdess(tmp_path):
    rows, problems = _scan(ravdess, tmp_path)
    assert len(rows) == 8
    assert _by(rows, "status") == {"ok": 4, "not_speech": 1, "unknown_label": 1,
                                   "not_audio_only": 1, "bad_filename": 1}
    assert rows["03-02-04-01-01-01-02"]["status"] == "not_speech"
    assert rows["01-01-02-01-01-01-02"]["status"] == "not_audio_only"
    assert _by(rows, "label", "ok") == {"05": 1, "01": 1, "03": 1, "02": 1}
    kids = rows["03-01-05-01-01-01-01"]
    assert (kids["speaker"], kids["gender"], kids["text"]) == (
        "01", "M", "Kids are talking by the door")
    assert rows["03-01-01-01-02-02-01"]["text"] == "Dogs are sitting by the door"
    assert (rows["03-01-03-02-01-01-02"]["speaker"], rows["03-01-03-02-01-01-02"]["gender"]) == (
        "02", "F")
    moved = rows["03-01-02-01-01-01-05"]                              # in Actor_02
    assert (moved["speaker"], moved["gender"], moved["status"]) == ("05", "M", "ok")
    assert _problem(problems, "03-01-02-01-01-01-05.wav", "folder Actor_02")
    assert _problem(problems, "Actor_24", "actor folder missing")
    assert len(problems) == 1 + 1 + 4 + 22


def test_savee(tmp_path):
    rows, problems = _scan(savee, tmp_path)
    assert len(rows) == 11
    assert _by(rows, "status") == {"ok": 9, "unknown_label": 1, "bad_filename": 1}
    assert _by(rows, "label", "ok") == {"a": 3, "sa": 1, "su": 1, "n": 1, "h": 1, "d": 1, "f": 1}
    assert {"DC_a01", "JE_a01", "XX_a01", "DC_sa01", "DC_su15"} <= set(rows)
    assert rows["JE_x01"]["status"] == "unknown_label"
    assert rows["JE_a01 (1)"]["status"] == "bad_filename"
    assert _by(rows, "speaker") == {"DC": 4, "JE": 4, "JK": 2, "XX": 1}
    assert _by(rows, "gender") == {"M": 10, "": 1}
    assert len(problems) == 5
    assert _problem(problems, "KL", "speaker folder missing")
    assert _problem(problems, "XX", "not one of SAVEE's speakers")


def test_tess(tmp_path):
    rows, problems = _scan(tess, tmp_path)
    assert len(rows) == 11
    assert _by(rows, "status") == {"ok": 9, "unknown_label": 1, "bad_filename": 1}
    assert _by(rows, "label", "ok") == {"angry": 1, "fear": 1, "ps": 2, "disgust": 1,
                                        "neutral": 1, "sad": 1, "happy": 2}
    assert rows["YAF_back_pleasant_surprised"]["label"] == "ps"
    assert rows["YAF_chair_Disgust"]["label"] == "disgust"
    assert rows["OAF_bite_happy"]["label"] == "happy"                 # in OAF_Sad/: problem
    assert rows["OAF_back_angry"]["text"] == "Say the word back"
    assert _by(rows, "speaker", "ok") == {"OAF": 4, "YAF": 5}
    assert _by(rows, "gender", "ok") == {"F": 9}
    assert [tess.normalise_emotion(s) for s in
            ("ps", "pleasant_surprise", "pleasant_surprised", "Pleasant_surprise", "Fear")] == [
        "ps", "ps", "ps", "ps", "fear"]
    assert len(problems) == 5        # OAF_bar_bored: unknown emotion and not its folder's
    assert _problem(problems, "OAF_bite_happy.wav", "folder OAF_Sad")


def test_crema_d(tmp_path):
    rows, problems = _scan(crema_d, tmp_path)
    assert len(rows) == 8
    assert _by(rows, "status") == {"ok": 6, "unknown_label": 1, "bad_filename": 1}
    assert _by(rows, "label", "ok") == {"ANG": 1, "HAP": 1, "SAD": 2, "NEU": 1, "FEA": 1}
    assert _by(rows, "gender", "ok") == {"M": 3, "F": 2, "": 1}
    assert rows["1003_ITS_NEU_XX"]["gender"] == ""
    assert rows["1001_DFA_ANG_XX"]["text"] == "Don't forget a jacket"
    assert rows["1002_TIE_SAD_LO"]["text"] == "That is exactly what happened"
    assert rows["1001_ABC_FEA_MD"]["text"] == ""
    assert len(crema_d.TEXTS) == 12
    assert len(problems) == 5
    assert _problem(problems, "VideoDemographics.csv", "actor 1003 not listed")


def test_crema_d_without_demographics(tmp_path):
    rows, problems = _scan(crema_d, tmp_path, demographics=False)
    assert _by(rows, "gender") == {"": 8}
    assert _problem(problems, "VideoDemographics.csv", "missing; genders left empty")
    assert len(problems) == 5        # the csv line replaces the actor-1003 line


def test_asvp_esd(tmp_path):
    rows, problems = _scan(asvp_esd, tmp_path)
    assert len(rows) == 8
    assert _by(rows, "status") == {"ok": 4, "not_speech": 1, "unknown_label": 1,
                                   "not_audio_only": 1, "bad_filename": 1}
    assert _by(rows, "label", "ok") == {"06": 2, "03": 1, "13": 1}
    assert f"actor_04_{mini.STEM}" in rows and mini.STEM in rows
    first = rows[mini.STEM]
    assert (first["speaker"], first["gender"], first["scenario"]) == ("01", "F", "natural")
    assert rows["03-01-03-01-05-02-02-03-01"]["gender"] == "M"
    assert rows["03-02-03-01-05-02-02"]["status"] == "not_speech"
    assert len(problems) == 6
    assert _problem(problems, f"actor_04/{mini.STEM}.wav", "stem already seen")

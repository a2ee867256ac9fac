"""The IEMOCAP adapter on a miniature release built here, with the real layout and its traps."""
from pathlib import Path

import pytest

from data_prep.corpora import iemocap
from data_prep.errors import SourceError
from data_prep.prepare import _check
from mini_iemocap import build_release


@pytest.fixture
def release(tmp_path) -> Path:
    return build_release(tmp_path)


def _statuses(rows):
    return {r["utt_id"]: r["status"] for r in rows}


def test_scan_finds_every_utterance_with_its_status(release):
    # act
    result = iemocap.scan(release)
    # assert: 4 + 1 (S1) + 5 (S2) + 2 (S3) + 1 (S4) = 13 rows, hand-counted.
    statuses = _statuses(result.rows)
    assert len(result.rows) == 13
    assert statuses["Ses01F_impro01_F002"] == "no_label"
    assert statuses["Ses02M_script01_1b_M001"] == "unknown_label"
    assert statuses["Ses03M_impro05a_F000"] == "no_label"      # its label line is malformed
    assert statuses["Ses04F_impro02_F000"] == "no_label"
    assert sum(s == "ok" for s in statuses.values()) == 9      # audio not checked yet
    assert "Ses01F_impro01_F009" not in statuses               # from the .doc file: ignored
    assert "Ses01F_impro01_MXX0" not in statuses               # transcript-only line: ignored


def test_speaker_is_the_turn_letter_not_the_dialog_letter(release):
    rows = {r["utt_id"]: r for r in iemocap.scan(release).rows}
    male_turn = rows["Ses01F_impro01_M000"]
    assert (male_turn["speaker"], male_turn["gender"], male_turn["session"]) == ("Ses01M", "M", 1)
    assert rows["Ses02M_script01_1b_F000"]["speaker"] == "Ses02F"
    assert {r["speaker"] for r in rows.values()} == {
        "Ses01F", "Ses01M", "Ses02F", "Ses02M", "Ses03F", "Ses03M", "Ses04F"}


def test_dialog_scenario_labels_vad_and_text(release):
    rows = {r["utt_id"]: r for r in iemocap.scan(release).rows}
    r = rows["Ses02M_script01_1b_F000"]
    assert (r["dialog"], r["scenario"], r["label"]) == ("Ses02M_script01_1b", "scripted", "hap")
    assert (r["valence"], r["arousal"], r["dominance"]) == (2.5, 3.0, 3.5)
    assert rows["Ses03M_impro05a_M000"]["dialog"] == "Ses03M_impro05a"
    assert rows["Ses03M_impro05a_M000"]["scenario"] == "improvised"
    assert rows["Ses01F_impro01_M000"]["text"] == "Do you [LAUGHTER] get it?"  # tags kept
    assert rows["Ses01F_impro01_M001"]["text"] == ""                          # no transcript


def test_problems_name_the_files(release):
    problems = iemocap.scan(release).problems
    assert any("Session5" in p and "missing" in p for p in problems)
    assert any("Ses03M_impro05a.txt:" in p and "malformed label line" in p for p in problems)
    assert any(p.endswith("EmoEvaluation: no label files") and "Session4" in p for p in problems)
    assert not any("._Ses01F" in p or "Categorical" in p for p in problems)


def test_audio_checks_give_each_bad_file_its_status(release):
    rows = {r["utt_id"]: r for r in iemocap.scan(release).rows}
    checks = {u: _check(r) for u, r in rows.items() if r["status"] == "ok"}
    assert checks["Ses01F_impro01_M001"]["status"] == "missing_audio"
    assert checks["Ses02M_script01_1b_M000"]["status"] == "empty_audio"
    assert checks["Ses02M_script01_1b_F001"]["status"] == "silent_audio"
    assert checks["Ses02M_script01_1b_F002"]["status"] == "unreadable_audio"
    stereo = checks["Ses01F_impro01_M000"]
    assert (stereo["status"], stereo["sample_rate"]) == ("ok", 44100)
    assert stereo["duration_s"] == pytest.approx(0.5)
    assert sum(c["status"] == "ok" for c in checks.values()) == 5


@pytest.mark.parametrize("make", ["missing", "file", "empty_dir"])
def test_unusable_source_is_one_clear_error(tmp_path, make):
    source = tmp_path / "IEMOCAP"
    if make == "file":
        source.write_text("not a folder")
    elif make == "empty_dir":
        source.mkdir()
    with pytest.raises(SourceError, match=str(source)):
        iemocap.scan(source)

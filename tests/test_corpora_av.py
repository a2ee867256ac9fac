"""MELD / MSP-Podcast / CMU-MOSEI adapters on miniature trees built here, and mp4 decoding."""
from pathlib import Path

import numpy as np
import pytest

from data_prep.audio import check_audio, load_audio, read_audio
from data_prep.corpora import meld, mosei, msp_podcast
from data_prep.errors import SourceError
from data_prep.prepare import _check
from mini_corpora_av import (build_meld, build_mosei, build_msp_podcast, write_corrupt_mp4,
                             write_mp4)
from ser_keras import store
from ser_keras.store import MANIFEST_COLUMNS


def _by_id(rows):
    return {r["utt_id"]: r for r in rows}


def _statuses(rows):
    return {r["utt_id"]: r["status"] for r in rows}


def _assert_manifest_rows(rows, corpus):
    assert len({r["utt_id"] for r in rows}) == len(rows)
    for row in rows:
        assert set(row) <= set(MANIFEST_COLUMNS), set(row) - set(MANIFEST_COLUMNS)
        assert row["corpus"] == corpus
        assert Path(row["audio_path"]).is_absolute()


# --------------------------------------------------------------------------------------------
# mp4 decoding (PyAV)
# --------------------------------------------------------------------------------------------
def test_mp4_audio_is_decoded_downmixed_at_native_rate_and_cut(tmp_path):
    clip = write_mp4(tmp_path / "tone.mp4", seconds=1.0, rate=16000, channels=2, video=True)
    signal, rate = read_audio(clip)
    assert rate == 16000 and signal.dtype == np.float32 and signal.ndim == 1
    # AAC adds encoder priming/padding: about one second, within a few 1024-sample frames.
    assert 16000 <= signal.size <= 16000 + 3 * 1024
    assert 0.2 < float(np.abs(signal).max()) < 0.4          # tone amplitude 0.3
    part, _ = read_audio(clip, 0.25, 0.5)
    assert part.size == 4000
    assert load_audio(clip, 8000, 0.25, 0.5).size == 2000
    assert check_audio(clip)["status"] == "ok"


def test_corrupt_and_missing_mp4_get_statuses(tmp_path):
    bad = write_corrupt_mp4(tmp_path / "bad.mp4")
    assert check_audio(bad)["status"] == "unreadable_audio"
    assert check_audio(tmp_path / "absent.mp4")["status"] == "missing_audio"
    assert check_audio(tmp_path / "absent.wav")["status"] == "missing_audio"


# --------------------------------------------------------------------------------------------
# MELD
# --------------------------------------------------------------------------------------------
@pytest.fixture
def meld_root(tmp_path) -> Path:
    return build_meld(tmp_path)


def test_meld_scan_rows_and_statuses(meld_root):
    result = meld.scan(meld_root)
    _assert_manifest_rows(result.rows, "meld")
    statuses = _statuses(result.rows)
    # hand-counted in build_meld: 8 train + 4 dev + 4 test rows
    assert len(result.rows) == 16
    assert statuses == {
        "train_dia0_utt0": "ok", "train_dia0_utt1": "ok", "train_dia1_utt0": "ok",
        "train_dia125_utt3": "known_corrupt", "train_dia2_utt0": "unknown_label",
        "train_dia3_utt0": "missing_audio", "train_dia4_utt0": "ok",
        "train_dia9_utt9": "no_row",
        "dev_dia0_utt0": "ok", "dev_dia110_utt7": "missing_audio", "dev_dia1_utt0": "no_label",
        "dev_dia5_utt1": "no_row",
        "test_dia0_utt0": "ok", "test_dia0_utt1": "ok", "test_dia1_utt0": "ok",
        "test_dia7_utt2": "no_row",
    }
    assert {r["split"] for r in result.rows if r["utt_id"].startswith("dev_")} == {"validation"}


def test_meld_fields_text_and_prefixed_clips(meld_root):
    rows = _by_id(meld.scan(meld_root).rows)
    r = rows["train_dia0_utt0"]
    assert (r["speaker"], r["label"], r["dialog"], r["split"]) == (
        "Phoebe", "surprise", "train_dia0", "train")
    assert (r["start_s"], r["end_s"], r["gender"], r["session"]) == (None, None, "", "")
    assert r["text"] == "Oh my God, he's lost it."                   # curly apostrophe
    assert rows["train_dia0_utt1"]["text"] == '"What?" I\'m fine'     # curly quotes, spaces
    assert rows["train_dia4_utt0"]["text"] == "I'm here"              # cp1252 \x92 byte
    assert rows["train_dia2_utt0"]["label"] == "Excited"              # unknown: kept as is
    assert Path(rows["test_dia0_utt1"]["audio_path"]).name == "final_videos_testdia0_utt1.mp4"
    assert Path(rows["test_dia1_utt0"]["audio_path"]).name == "dia1_utt0.mp4"
    assert Path(rows["test_dia7_utt2"]["audio_path"]).name == "final_videos_testdia7_utt2.mp4"


def test_meld_problems_name_the_files(meld_root):
    problems = meld.scan(meld_root).problems
    joined = "\n".join(problems)
    assert "dia125_utt3.mp4: known corrupt" in joined
    assert "dev_splits_complete/dia110_utt7.mp4: clip missing" in joined
    assert "train_splits/dia9_utt9.mp4: clip named by no row" in joined
    assert "final_videos_testdia1_utt0.mp4: duplicate clip for test_dia1_utt0" in joined
    assert "train_sent_emo.csv: 7 utterances, the official release has 9989" in joined
    assert "._dia0_utt0" not in joined
    assert all(str(meld_root) in p for p in problems)


def test_meld_audio_checks_decode_the_mp4(meld_root):
    rows = _by_id(meld.scan(meld_root).rows)
    assert _check(rows["train_dia0_utt0"])["status"] == "ok"          # audio + video streams
    assert _check(rows["test_dia0_utt1"])["status"] == "ok"
    assert _check(rows["train_dia1_utt0"])["status"] == "unreadable_audio"


def test_meld_missing_parts_are_reported(tmp_path):
    root = build_meld(tmp_path)
    (root / "test_sent_emo.csv").unlink()
    for clip in (root / "dev_splits_complete").iterdir():
        clip.unlink()
    (root / "dev_splits_complete").rmdir()
    result = meld.scan(root)
    statuses = _statuses(result.rows)
    assert statuses["test_dia7_utt2"] == "no_row" and statuses["test_dia0_utt0"] == "no_row"
    assert statuses["dev_dia0_utt0"] == "missing_audio"
    joined = "\n".join(result.problems)
    assert "test_sent_emo.csv: label file missing" in joined
    assert "dev_splits_complete: media folder missing" in joined


# --------------------------------------------------------------------------------------------
# MSP-Podcast
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("label_name", ["labels_consensus.csv", "labels_concensus.csv"])
def test_msp_podcast_scan(tmp_path, label_name):
    result = msp_podcast.scan(build_msp_podcast(tmp_path, label_name))
    _assert_manifest_rows(result.rows, "msp-podcast")
    p = "MSP-PODCAST_"
    assert _statuses(result.rows) == {
        p + "0001_0001": "ok", p + "0001_0002": "ok", p + "0002_0001": "ok",
        p + "0002_0002": "ok", p + "0003_0001": "unknown_label", p + "0003_0002": "missing_audio",
        p + "0004_0001": "no_label", p + "0009_0001": "no_row"}
    rows = _by_id(result.rows)
    assert [rows[p + s]["split"] for s in ("0001_0001", "0001_0002", "0002_0001", "0002_0002",
                                           "0003_0001", "0009_0001")] == [
        "train", "validation", "test", "test2", "validation", ""]
    r = rows[p + "0001_0001"]
    assert (r["label"], r["speaker"], r["gender"]) == ("A", "127", "M")
    assert (r["valence"], r["arousal"], r["dominance"]) == (2.0, 5.2, 4.8)
    assert r["text"] == "I can't believe this happened."
    assert (rows[p + "0001_0002"]["speaker"], rows[p + "0001_0002"]["gender"]) == ("", "")
    assert rows[p + "0002_0001"]["gender"] == "F"
    joined = "\n".join(result.problems)
    assert "Audios/MSP-PODCAST_0003_0002.wav: audio missing" in joined
    assert f"{label_name}:6: unknown EmoClass 'Q'" in joined
    assert "MSP-PODCAST_0009_0001.wav: wav named by no row" in joined
    assert _check(rows[p + "0001_0001"])["status"] == "ok"


def test_msp_podcast_without_transcripts(tmp_path):
    rows = msp_podcast.scan(build_msp_podcast(tmp_path, transcripts=False)).rows
    assert {r["text"] for r in rows} == {""}


# --------------------------------------------------------------------------------------------
# CMU-MOSEI
# --------------------------------------------------------------------------------------------
def test_mosei_reduction_rule():
    assert mosei.reduce_emotions([1.0, 0.33, 0, 0, 0, 0]) == "happy"
    assert mosei.reduce_emotions([0, 0, 2.0, 0, 2.0, 0]) == "anger"      # tie: fixed order
    assert mosei.reduce_emotions([0, 0.33, 0, 0.33, 0, 0]) == "sad"
    assert mosei.reduce_emotions([0, 0, 0, 0, 0, 0.66]) == "fear"
    assert mosei.reduce_emotions([0] * 6) == "none"


def test_mosei_scan(tmp_path):
    root = build_mosei(tmp_path)
    result = mosei.scan(root)
    _assert_manifest_rows(result.rows, "mosei")
    assert _statuses(result.rows) == {
        "vidA_1": "ok", "vidA_2": "ok", "vidA_t4000": "ok",
        "vid_B-1_t1000": "ok", "vid_B-1_t3000": "ok",
        "vidC_t0": "missing_audio", "vidC_t1000": "missing_audio", "vidZ": "no_row"}
    rows = _by_id(result.rows)
    assert [rows[u]["label"] for u in ("vidA_1", "vidA_2", "vidA_t4000", "vid_B-1_t1000",
                                       "vid_B-1_t3000")] == ["happy", "anger", "none", "sad",
                                                             "fear"]
    r = rows["vidA_2"]
    assert (r["start_s"], r["end_s"], r["valence"], r["dialog"], r["split"]) == (
        2.0, 4.0, -2.0, "vidA", "train")
    assert r["text"] == "i am NOT happy"
    # the six intensities kept beside the single label, in the .csd order, unrounded
    assert store.parse_scores(r["scores"]) == {"happy": 0, "sad": 0, "anger": 2.0,
                                               "surprise": 0, "disgust": 2.0, "fear": 0}
    assert store.parse_scores(rows["vidA_1"]["scores"])["sad"] == pytest.approx(0.33, 1e-6)
    assert rows["vidA_t4000"]["label"] == "none" and rows["vidA_t4000"]["scores"]
    assert rows["vidA_1"]["text"] == "hello there friends"
    assert rows["vid_B-1_t3000"]["split"] == "validation"
    assert rows["vidC_t0"]["split"] == "test"
    assert rows["vidZ"]["start_s"] is None
    check = _check(r)
    assert check["status"] == "ok" and check["duration_s"] == pytest.approx(2.0)
    joined = "\n".join(result.problems)
    assert "WAV_16000/vidC.wav: full-video wav missing" in joined
    assert "vidZ.wav: wav named by no video" in joined


def test_mosei_without_folds_says_what_it_needs(tmp_path, monkeypatch):
    monkeypatch.setattr(mosei.importlib.util, "find_spec", lambda name: None)
    result = mosei.scan(build_mosei(tmp_path, folds=False))
    assert {r["split"] for r in result.rows} == {""}
    assert any("no cmu_mosei_std_folds.py" in p and "splits left empty" in p
               for p in result.problems)


# --------------------------------------------------------------------------------------------
# Unusable sources: one clear line naming the path
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("adapter", [meld, msp_podcast, mosei])
def test_unusable_source_is_one_clear_error(tmp_path, adapter):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    for source in (tmp_path / "absent", tmp_path / "file.txt", tmp_path / "empty"):
        with pytest.raises(SourceError) as err:
            adapter.scan(source)
        message = str(err.value)
        assert message.startswith(str(source)) and "\n" not in message


# --------------------------------------------------------------------------------------------
# --transcripts CSV (user transcripts, e.g. ASR for MSP-Podcast v1.7) on the miniature release
# --------------------------------------------------------------------------------------------
P = "MSP-PODCAST_"
TRANSCRIPTS_CSV = (
    "\ufeffutt_id,text\n"
    f'{P}0001_0001,"i am so happy, really"\n'      # replaces the release's transcript
    f'{P}0001_0002,"  what   a\tday, café  "\n'    # fills one (whitespace collapsed)
    f"{P}0003_0002,the wav is missing\n"           # in the corpus, not usable
    f"{P}7777_0001,not in the corpus\n"
    f"{P}7777_0002,nor this\n"
    f"{P}0001_0002,a second row\n"                 # the first row is kept
    f"{P}0002_0002,\n"                             # no text: ignored
    f"{P}0002_0001,cut, at a comma\n"              # unquoted comma: ignored, not truncated
)


def _prepare_msp(source, out, tiny_bert, *extra, features="logmel64,bert_mean"):
    from data_prep import cli

    return cli.main(["msp-podcast", str(source), "--out", str(out), "--features", features,
                     "--text-encoder", str(tiny_bert), "--quiet", "--workers", "1", *extra])


def _msp_state(out):
    import json

    rows = {r["utt_id"]: r for r in store.read_manifest(store.manifest_path(out, "msp-podcast"))}
    report = json.loads((out / "msp-podcast" / "prepare_report.json").read_text())
    return rows, report


def test_read_transcripts_csv(tmp_path):
    from data_prep.transcripts import read_csv

    path = tmp_path / "t.csv"
    path.write_text(TRANSCRIPTS_CSV, encoding="utf-8")
    texts, problems = read_csv(path)
    assert texts == {f"{P}0001_0001": "i am so happy, really",
                     f"{P}0001_0002": "what a day, café", f"{P}0003_0002": "the wav is missing",
                     f"{P}7777_0001": "not in the corpus", f"{P}7777_0002": "nor this"}
    assert problems == [f"{path}:7: second row for {P}0001_0002; kept the first",
                        f"{path}:8: empty text for {P}0002_0002; row ignored",
                        f"{path}:9: more fields than the header (a comma in an unquoted "
                        "text?); row ignored"]
    path.write_text(" text ,speaker,utt_id\nhello,3,a\n")   # any column order, other columns
    assert read_csv(path) == ({"a": "hello"}, [])


def test_transcripts_csv_fills_text_reports_and_is_kept_on_rerun(tmp_path, tiny_bert, capsys):
    source = build_msp_podcast(tmp_path)
    csv_path = tmp_path / "asr.csv"
    csv_path.write_text(TRANSCRIPTS_CSV, encoding="utf-8")
    out = tmp_path / "store"

    # 1. with the CSV: its rows fill / replace the text; unknown ids are problems, counted
    assert _prepare_msp(source, out, tiny_bert, "--transcripts", str(csv_path)) == 0
    printed = capsys.readouterr().out
    rows, report = _msp_state(out)
    assert rows[f"{P}0001_0001"]["text"] == "i am so happy, really"      # release's replaced
    assert rows[f"{P}0001_0002"]["text"] == "what a day, café"
    assert rows[f"{P}0003_0002"]["text"] == "the wav is missing"
    assert rows[f"{P}0002_0001"]["text"] == rows[f"{P}0002_0002"]["text"] == ""
    expected = {"source": "csv", "csv": str(csv_path.resolve()), "with_text": 2,
                "without_text": 2, "from_csv": 2, "from_release": 0, "replaced": 1,
                "unknown_ids": 2, "kept_from": None}
    assert report["transcripts"] == expected
    unknown = (f"{csv_path.resolve()}: 2 utt_id(s) that msp-podcast does not have; ignored: "
               f"{P}7777_0001, {P}7777_0002")
    assert unknown in report["problems"]
    assert any("second row for" in p for p in report["problems"])
    assert (f"  transcripts: csv ({csv_path.resolve()}): 2 of 4 usable utterances have text "
            "(2 from the CSV, 0 from the release; 1 release transcript(s) replaced by the "
            "CSV's); 2 CSV utt_id(s) not in the corpus (see problems)") in printed
    assert report["features"]["bert_mean"]["records"] == 4
    manifest = (out / "msp-podcast" / "manifest.csv").read_bytes()

    # 2. re-run without --transcripts: the user's text is kept (from the store's copy), said so
    csv_path.unlink()
    assert _prepare_msp(source, out, tiny_bert) == 0
    printed = capsys.readouterr().out
    assert "keeping the 3 transcript(s) of an earlier --transcripts" in printed
    assert (out / "msp-podcast" / "manifest.csv").read_bytes() == manifest
    rows, report = _msp_state(out)
    stored = out / "msp-podcast" / "transcripts.json"
    assert report["transcripts"] == dict(expected, kept_from=str(stored), unknown_ids=0)
    assert "kept from an earlier run" in printed

    # 3. --transcripts none: back to the release's transcripts, the stored copy deleted
    assert _prepare_msp(source, out, tiny_bert, "--transcripts", "none") == 0
    printed = capsys.readouterr().out
    rows, report = _msp_state(out)
    assert not stored.exists()
    assert rows[f"{P}0001_0001"]["text"] == "I can't believe this happened."
    assert rows[f"{P}0001_0002"]["text"] == ""
    assert report["transcripts"] == {
        "source": "release", "csv": None, "with_text": 1, "without_text": 3, "from_csv": 0,
        "from_release": 1, "replaced": 0, "unknown_ids": 0, "kept_from": None}
    assert "  transcripts: release: 1 of 4 usable utterances have text" in printed


def test_transcripts_give_text_to_a_release_without_any(tmp_path, tiny_bert, capsys):
    source = build_msp_podcast(tmp_path, transcripts=False)
    out = tmp_path / "store"
    assert _prepare_msp(source, out, tiny_bert, features="logmel64") == 0
    assert _msp_state(out)[1]["transcripts"]["source"] == "none"
    assert "transcripts: none: 0 of 4 usable utterances have text" in capsys.readouterr().out
    # text sets need transcripts: refused without, fine with a CSV for every usable utterance
    assert _prepare_msp(source, out, tiny_bert, features="bert_mean") == 2
    assert "--transcripts CSV" in capsys.readouterr().err
    csv_path = tmp_path / "asr.csv"
    csv_path.write_text("utt_id,text\n" + "".join(
        f"{P}{s},hello {s}\n" for s in ("0001_0001", "0001_0002", "0002_0001", "0002_0002")))
    assert _prepare_msp(source, out, tiny_bert, "--transcripts", str(csv_path),
                        features="logmel64,bert_mean") == 0
    info = _msp_state(out)[1]["transcripts"]
    assert (info["source"], info["with_text"], info["without_text"]) == ("csv", 4, 0)


@pytest.mark.parametrize("content, message", [
    (b"id,transcript\nMSP-PODCAST_0001_0001,hello\n",
     "not a transcripts CSV: its header must name the columns utt_id and text "
     "(found: id, transcript)"),
    (b"", "not a transcripts CSV: its header must name the columns utt_id and text "
          "(found: no header)"),
    (b"utt_id,text\nMSP-PODCAST_0001_0001,caf\xe9\n", "the transcripts CSV is not UTF-8 text"),
    (None, "no such transcripts file"),
])
def test_bad_transcripts_csv_is_one_clear_error(tmp_path, tiny_bert, capsys, content, message):
    source = build_msp_podcast(tmp_path)
    csv_path = tmp_path / "bad.csv"
    if content is not None:
        csv_path.write_bytes(content)
    assert _prepare_msp(source, tmp_path / "store", tiny_bert, "--transcripts",
                        str(csv_path), features="logmel64") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"ser-prepare: error: {csv_path.resolve()}: ")
    assert message in err
    assert not (tmp_path / "store" / "msp-podcast" / "manifest.csv").exists()

"""Damaged audio in a release (found on a real RAVDESS tree): every file is a manifest row with
a status or a problem line, NaN / Inf never reach an extractor nor the store, audio shorter
than ``MIN_DURATION_S`` is not padded into features. The tree is tests/mini_damaged.py."""
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from data_prep import cli
from data_prep.audio import MIN_DURATION_S, AudioError, check_audio, load_audio
from data_prep.features import get_feature_set
from mini_damaged import DAMAGED, DIRECTORY, GOOD, HUGE, build_damaged_ravdess
from ser_keras import store

FEATURES = ("mfcc39_mean", "logmel64", "egemaps_func")   # cheap; logmel64 shows the writer


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    parent = tmp_path_factory.mktemp("damaged")
    root = build_damaged_ravdess(parent)
    out = parent / "store"
    code = cli.main(["ravdess", str(root), "--out", str(out), "--features", ",".join(FEATURES),
                     "--workers", "1", "--quiet"])
    report = json.loads((out / "ravdess" / "prepare_report.json").read_text())
    rows = store.read_manifest(store.manifest_path(out, "ravdess"))
    return code, root, out, report, {Path(r["audio_path"]): r for r in rows}


def test_the_run_succeeds_and_every_file_is_accounted_for(prepared):
    code, root, _, report, rows = prepared
    assert code == 0
    problems = "\n".join(report["problems"])
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) == len(GOOD) + len(DAMAGED)
    for path in files:   # none silently dropped: a row (with its status) or a problem line
        assert path.resolve() in rows or str(path) in problems, path
    assert len(rows) == len(files) and report["utterances"] == len(files)
    # A directory named like a wav is no row, and a problem line says it was ignored.
    assert (root / DIRECTORY).is_dir() and (root / DIRECTORY).resolve() not in rows
    assert any(p.startswith(str(root / DIRECTORY)) and "a directory" in p and "ignored" in p
               for p in report["problems"]), problems


@pytest.mark.parametrize("name", sorted({**GOOD, **DAMAGED}))
def test_each_file_gets_its_status(prepared, name):
    _, root, _, _, rows = prepared
    what, status = {**GOOD, **DAMAGED}[name]
    assert rows[(root / name).resolve()]["status"] == status, what


def test_statuses_are_counted_and_each_has_a_line_naming_its_file(prepared):
    _, root, _, report, rows = prepared
    assert report["by_status"] == {"bad_filename": 1, "empty_audio": 1, "nonfinite_audio": 2,
                                   "ok": 8, "silent_audio": 1, "too_short_audio": 2,
                                   "unreadable_audio": 3}
    assert all("\n" not in p for p in report["problems"])

    def line(name):
        hits = [p for p in report["problems"] if p.startswith(f"{(root / name).resolve()}: ")]
        assert len(hits) == 1, (name, hits)
        return hits[0]

    assert "cannot decode audio (Error in WAV" in line("Actor_01/03-01-02-01-01-01-01.wav")
    assert "(Format not recognised.)" in line("Actor_01/03-01-02-01-01-02-01.wav")
    assert "no audio samples" in line("Actor_01/03-01-02-01-02-02-01.wav")
    assert "10 NaN and 0 infinite sample(s) of 14400" in line("Actor_01/03-01-04-01-01-01-01.wav")
    assert "0 NaN and 2 infinite sample(s)" in line("Actor_01/03-01-04-01-01-02-01.wav")
    assert line("Actor_01/03-01-04-01-02-01-01.wav").endswith(
        "1 sample(s) at 48000 Hz = 0.0208 ms, shorter than the minimum 100 ms")
    assert "= 50 ms, shorter than the minimum 100 ms" in line("Actor_01/03-01-04-01-02-02-01.wav")
    assert "silent" in line("Actor_01/03-01-08-01-01-01-01.wav")
    # Readable files (6 channels, 8-bit, 8 kHz) are usable: no line.
    for name in ("03-01-06-01-01-01-02", "03-01-06-01-01-02-02", "03-01-06-01-02-01-02"):
        assert not any(name in p for p in report["problems"])
    eight_k = rows[(root / "Actor_02/03-01-06-01-02-01-02.wav").resolve()]
    assert (eight_k["sample_rate"], eight_k["duration_s"]) == ("8000", "0.3")


def test_the_summary_counts_the_new_statuses(prepared):
    from data_prep.prepare import summary_lines

    first = summary_lines(prepared[3])[0]
    assert "8 of 18 utterances usable" in first
    assert "2 nonfinite_audio" in first and "2 too_short_audio" in first


def test_nothing_non_finite_is_stored_and_refusals_are_failures(prepared):
    _, root, out, report, rows = prepared
    usable = sorted(r["utt_id"] for r in rows.values() if r["status"] == "ok")
    for name in FEATURES:
        fs = store.open_feature_set(out, "ravdess", name)
        data = fs.to_dict()
        assert data and all(np.isfinite(a).all() for a in data.values()), name
        # every usable utterance is a record or a recorded failure of the set
        assert sorted([*data, *fs.failures]) == usable, name
    # The 1e30 file: its log-Mel power overflows float32 -> refused by the writer, not zeroed;
    # its MFCCs fail inside the extractor; eGeMAPS (int16 input, saturated) is finite: stored.
    sets = report["features"]
    assert sets["logmel64"]["failed_utterances"] == {HUGE: "non_finite_features"}
    assert list(sets["mfcc39_mean"]["failed_utterances"]) == [HUGE]
    assert sets["mfcc39_mean"]["failed_utterances"][HUGE].startswith("extract_error: ")
    assert sets["egemaps_func"]["failures"] == {}
    path = (root / f"Actor_02/{HUGE}.wav").resolve()
    assert (f"{path}: {HUGE} not stored in feature set logmel64: its features hold NaN or Inf "
            "values (non_finite_features)") in report["problems"]
    assert any(p.startswith(f"{path}: {HUGE} not stored in feature set mfcc39_mean: extraction "
                            "failed (extract_error: ") for p in report["problems"])


def test_a_rerun_keeps_the_failures_and_their_lines(prepared):
    code, root, out, report, _ = prepared
    args = ["ravdess", str(root), "--out", str(out), "--features", ",".join(FEATURES),
            "--workers", "1", "--quiet"]
    assert cli.main(args) == 0     # every shard complete: nothing re-extracted
    again = json.loads((out / "ravdess" / "prepare_report.json").read_text())
    assert again["problems"] == report["problems"]
    assert again["features"] == report["features"]


def test_the_writer_refuses_nan_and_inf(tmp_path):
    ids = ["a", "b", "c"]
    sha = store.write_manifest(tmp_path / "toy" / "manifest.csv",
                               [{"utt_id": u, "status": "ok"} for u in ids])
    description = {"feature_set": "toy", "modality": "audio", "dim": 2, "rank": "vector"}
    shard = store.FeatureSetWriter(tmp_path, "toy", description, sha, ids).open_shard(0)
    assert shard.write("a", np.array([1.0, 2.0], np.float32)) is True
    assert shard.write("b", np.array([np.nan, 2.0], np.float32)) is False
    assert shard.write("c", np.array([1.0, -np.inf], np.float32)) is False
    marker = shard.commit()
    assert marker["failures"] == {"b": "non_finite_features", "c": "non_finite_features"}
    fs = store.open_feature_set(tmp_path, "toy", "toy")
    assert list(fs.to_dict()) == ["a"] and fs.failures == marker["failures"]


# --- the pieces ---------------------------------------------------------------------------
def test_minimum_duration_is_the_longest_speech_frame(tmp_path):
    from data_prep.features.gemaps import EGeMAPSFunc
    from data_prep.features.smile import SmileMfcc39

    assert MIN_DURATION_S == SmileMfcc39().frame_length_s() == 0.1
    assert EGeMAPSFunc().min_samples / EGeMAPSFunc.sample_rate == MIN_DURATION_S
    for rate in (8000, 16000, 44100, 48000):   # the boundary, at the file's own rate
        n = int(MIN_DURATION_S * rate)
        sf.write(tmp_path / "at.wav", 0.3 * np.ones(n), rate, subtype="PCM_16")
        sf.write(tmp_path / "below.wav", 0.3 * np.ones(n - 1), rate, subtype="PCM_16")
        assert check_audio(tmp_path / "at.wav")["status"] == "ok"
        assert check_audio(tmp_path / "below.wav")["status"] == "too_short_audio"


def test_nan_never_reaches_an_extractor(tmp_path):
    signal = np.full(16000, 0.1, np.float32)
    signal[10] = np.nan
    sf.write(tmp_path / "nan.wav", signal, 16000, subtype="FLOAT")
    with pytest.raises(AudioError) as err:
        load_audio(tmp_path / "nan.wav")
    assert err.value.status == "nonfinite_audio" and "1 NaN" in str(err.value)
    # Extractors called directly refuse it too (no silent zeroing, no int16 cast of NaN).
    for name in ("mfcc39_mean", "logmel64", "raw", "prosody8", "egemaps_func",
                 "mfcc39_smile"):
        with pytest.raises(ValueError, match=f"{name}: the signal holds 1 NaN or infinite"):
            get_feature_set(name).extract(signal)

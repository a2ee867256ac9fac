"""``ser-prepare iemocap`` end to end on the miniature release: manifest, report, features,
bad input, and an interrupted run finished by re-running it."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from data_prep import cli
from ser_keras import store

USABLE = ["Ses01F_impro01_F000", "Ses01F_impro01_F001", "Ses01F_impro01_M000",
          "Ses02M_script01_1b_F000", "Ses03M_impro05a_M000"]




def _args(release, out, tiny_bert, *extra):
    return ["iemocap", str(release), "--out", str(out), "--text-encoder", str(tiny_bert),
            "--quiet", "--shard-size", "2", *extra]


@pytest.fixture(scope="module")
def prepared(release, tiny_bert, tmp_path_factory):
    out = tmp_path_factory.mktemp("store")
    assert cli.main(_args(release, out, tiny_bert, "--workers", "2")) == 0
    return out


def test_manifest_has_every_row_with_its_status(prepared):
    rows = store.read_manifest(store.manifest_path(prepared, "iemocap"))
    statuses = {r["utt_id"]: r["status"] for r in rows}
    assert len(rows) == 13
    assert sorted(u for u, s in statuses.items() if s == "ok") == USABLE
    assert statuses["Ses02M_script01_1b_F001"] == "silent_audio"
    assert statuses["Ses02M_script01_1b_F002"] == "unreadable_audio"
    assert statuses["Ses01F_impro01_M001"] == "missing_audio"
    stereo = next(r for r in rows if r["utt_id"] == "Ses01F_impro01_M000")
    assert (stereo["sample_rate"], stereo["duration_s"]) == ("44100", "0.5")


def test_report_counts_by_status_and_label(prepared, capsys):
    report = json.loads((prepared / "iemocap" / "prepare_report.json").read_text())
    assert report["by_status"] == {"empty_audio": 1, "missing_audio": 1, "no_label": 3,
                                   "ok": 5, "silent_audio": 1, "unknown_label": 1,
                                   "unreadable_audio": 1}
    assert report["by_label"] == {"ang": 1, "hap": 1, "neu": 1, "sad": 1, "xxx": 1}
    assert report["features"]["bert_tokens"]["notes"] == {"empty_text": 1}
    assert report["features"]["mfcc39_smile"]["records"] == 5
    assert "opensmile" in report["versions"]


def test_features_are_readable_with_expected_shapes(prepared):
    mfcc = store.open_feature_set(prepared, "iemocap", "mfcc39_smile", expect={"dim": 39})
    bert = store.open_feature_set(prepared, "iemocap", "bert_tokens", expect={"dim": 8})
    mfcc_data, bert_data = mfcc.to_dict(), bert.to_dict()
    assert sorted(mfcc_data) == sorted(bert_data) == USABLE
    # 0.5 s at 16 kHz, 100 ms frames every 50 ms: 9 full frames.
    assert {a.shape for a in mfcc_data.values()} == {(9, 39)}
    assert bert_data["Ses01F_impro01_F001"].shape == (2, 8)  # "[BREATHING]": [CLS] [SEP]
    assert mfcc.metadata["frame_shift_s"] == 0.05 and mfcc.metadata["num_shards"] == 3
    # Format 2: every record's length is in the markers, equal to the array's first axis.
    assert mfcc.lengths == {u: a.shape[0] for u, a in mfcc_data.items()}
    assert bert.lengths == {u: a.shape[0] for u, a in bert_data.items()}
    assert bert.lengths["Ses01F_impro01_F001"] == 2
    assert mfcc.longest(USABLE) == 9 and bert.longest(USABLE) == max(bert.lengths.values())
    for fs in (mfcc, bert):
        assert (fs.rank, fs.dtype, fs.metadata["format_version"]) == (2, "float32", 2)


def test_rerun_skips_complete_shards(prepared, release, tiny_bert):
    before = {p: p.stat().st_mtime_ns for p in prepared.rglob("*.tfrecord")}
    assert cli.main(_args(release, prepared, tiny_bert, "--workers", "1")) == 0
    assert {p: p.stat().st_mtime_ns for p in prepared.rglob("*.tfrecord")} == before


def test_a_format_1_set_is_refused_then_rebuilt_by_the_same_command(prepared, release,
                                                                      tiny_bert, tmp_path,
                                                                      capsys):
    import shutil

    out = tmp_path / "store"
    shutil.copytree(prepared, out)
    directory = store.feature_dir(out, "iemocap", "mfcc39_smile")
    originals = {p.name: p.read_bytes() for p in directory.iterdir()}
    # What a format-1 ser-prepare left: metadata version 1, markers without lengths.
    meta = json.loads((directory / "metadata.json").read_text())
    (directory / "metadata.json").write_text(json.dumps(dict(meta, format_version=1)))
    for marker in directory.glob("*.done.json"):
        info = json.loads(marker.read_text())
        del info["lengths"]
        marker.write_text(json.dumps(info))
    (directory / "left-by-format-1.tfrecord").write_bytes(b"old")
    with pytest.raises(store.StoreError, match="store format is 1 and this version of ser-keras "
                                               "reads 2; rebuild with: ser-prepare iemocap"):
        store.open_feature_set(out, "iemocap", "mfcc39_smile")
    args = _args(release, out, tiny_bert, "--workers", "1")
    capsys.readouterr()
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "store format 1, this version writes 2; rebuilding mfcc39_smile" in printed
    # Rebuilt, not resumed: the directory is replaced, every shard redone as in a fresh run.
    assert sorted(p.name for p in directory.iterdir()) == sorted(originals)
    for name, content in originals.items():
        if name != "metadata.json":
            assert (directory / name).read_bytes() == content, name
    mfcc = store.open_feature_set(out, "iemocap", "mfcc39_smile")
    assert sorted(mfcc.lengths) == USABLE and set(mfcc.lengths.values()) == {9}


def test_unusable_source_fails_with_one_line(tmp_path, capsys):
    assert cli.main(["iemocap", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(tmp_path / "nowhere") in err


@pytest.mark.slow
def test_killed_run_rerun_gives_the_same_store(release, tiny_bert, prepared, tmp_path):
    out = tmp_path / "store"
    command = [sys.executable, "-m", "data_prep.cli",
               *_args(release, out, tiny_bert, "--workers", "1")]
    command[command.index("--shard-size") + 1] = "2"
    process = subprocess.Popen(command, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    first = out / "iemocap" / "features" / "mfcc39_smile" / "shard-00000-of-00003.done.json"
    deadline = time.time() + 120
    while not first.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with pytest.raises(store.StoreError):
        store.open_feature_set(out, "iemocap", "bert_tokens")   # the kill left work undone
    assert cli.main(_args(release, out, tiny_bert, "--workers", "1")) == 0
    for name in ("mfcc39_smile", "bert_tokens"):
        a, b = store.feature_dir(out, "iemocap", name), store.feature_dir(prepared, "iemocap", name)
        files = sorted(p.name for p in a.iterdir())
        assert files == sorted(p.name for p in b.iterdir())
        for f in files:
            if f == "metadata.json":
                strip = lambda m: {k: v for k, v in m.items() if k != "prepare_command"}
                assert strip(json.loads((a / f).read_text())) == strip(
                    json.loads((b / f).read_text()))
            else:
                assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (out / "iemocap" / "manifest.csv").read_bytes() == (
        prepared / "iemocap" / "manifest.csv").read_bytes()


@pytest.mark.slow
def test_ser_prepare_demo_tiny_end_to_end(tmp_path, capsys):
    # act: the demo command as a user types it (default text encoder: the MiniLM wheel)
    assert cli.main(["demo", "--size", "tiny", "--out", str(tmp_path), "--quiet"]) == 0
    # assert: every synthesised utterance is usable and in both feature sets
    out = capsys.readouterr().out
    assert "demo: 60 of 60 utterances usable" in out
    rows = store.read_manifest(store.manifest_path(tmp_path, "demo"))
    assert len(rows) == 60 and {r["corpus"] for r in rows} == {"demo"}
    assert len({r["speaker"] for r in rows}) == 10
    mfcc = store.open_feature_set(tmp_path, "demo", "mfcc39_smile", expect={"dim": 39})
    bert = store.open_feature_set(tmp_path, "demo", "bert_tokens",
                                  expect={"dim": 384, "config.text_encoder": "minilm-l6"})
    assert len(mfcc.utt_ids) == len(bert.utt_ids) == 60
    durations = {r["utt_id"]: float(r["duration_s"]) for r in rows}
    for utt_id, array in mfcc.to_dict().items():
        samples = round(durations[utt_id] * 16000)
        assert array.shape == (1 + (max(samples, 1600) - 1600) // 800, 39)


def test_text_features_are_refused_for_a_corpus_without_transcripts(tmp_path):
    from data_prep.corpora import ScanResult
    from data_prep.errors import PrepareError
    from data_prep.prepare import prepare

    class NoTranscripts:
        @staticmethod
        def scan(source, corpus):
            return ScanResult([{"utt_id": "a", "corpus": corpus, "text": "", "status": "ok"}], [])

    with pytest.raises(PrepareError, match="no transcripts.*bert_tokens"):
        prepare("x", tmp_path, tmp_path / "out", NoTranscripts, ["bert_tokens"])


def test_default_features_skip_text_for_a_corpus_without_transcripts(tmp_path):
    from data_prep.corpora import ScanResult
    from data_prep.prepare import prepare

    class NoTranscripts:
        @staticmethod
        def scan(source, corpus):
            return ScanResult([{"utt_id": "a", "corpus": corpus, "text": "",
                                "status": "no_label"}], [])

    messages = []
    report = prepare("x", tmp_path, tmp_path / "out", NoTranscripts, workers=1,
                     progress=False, log=messages.append)
    assert list(report["features"]) == ["mfcc39_smile"]
    assert messages == ["x has no transcripts: preparing audio feature sets only"]


@pytest.mark.slow
def test_any_combination_of_feature_sets_in_one_command(release, tiny_bert, tmp_path):
    from data_prep.audio import load_audio
    from data_prep.features import get_feature_set

    names = ["egemaps_lld", "egemaps_func", "gemaps_func", "mfcc39", "mfcc39_mean", "logmel64",
             "chroma", "prosody8", "raw", "bert_mean"]
    assert cli.main(_args(release, tmp_path, tiny_bert, "--workers", "2",
                          "--features", ",".join(names))) == 0
    dims = {"egemaps_lld": 25, "egemaps_func": 88, "gemaps_func": 62, "mfcc39": 39,
            "mfcc39_mean": 39, "logmel64": 64, "chroma": 12, "prosody8": 8, "raw": 1,
            "bert_mean": 8}
    rows = {r["utt_id"]: r for r in store.read_manifest(store.manifest_path(tmp_path, "iemocap"))}
    for name in names:
        fs = store.open_feature_set(tmp_path, "iemocap", name, expect={"dim": dims[name]})
        data = fs.to_dict()
        assert sorted(data) == USABLE, name
        if name in ("egemaps_func", "gemaps_func", "mfcc39"):  # the pipeline = the extractor
            u = USABLE[0]
            expected = get_feature_set(name).extract(load_audio(rows[u]["audio_path"]))
            np.testing.assert_allclose(data[u], expected, rtol=1e-6, atol=1e-6)

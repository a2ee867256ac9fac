"""A shard damaged after it was marked complete (a flipped byte, a cut file): the reader's
one-line StoreError naming the shard and the command, ``ser-prepare --verify``, and the re-run
that re-extracts that shard only; markers of an older ser-prepare (no checksum)."""
import json
import shutil

import numpy as np
import pytest

from data_prep import cli
from ser_keras import store
from ser_keras.data import input as data_input
from ser_keras.data.input import InputFeed

SET = "mfcc39_smile"   # the cheapest audio set on the tiny demo (about 3 s for 60 utterances)


def _command(out):
    return ["demo", "--size", "tiny", "--out", str(out), "--features", SET, "--workers", "1",
            "--quiet", "--shard-size", "16"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The tiny demo with one feature set in 4 shards, and a pristine copy of the set."""
    out = tmp_path_factory.mktemp("store")
    assert cli.main(_command(out)) == 0
    pristine = tmp_path_factory.mktemp("pristine") / SET
    shutil.copytree(store.feature_dir(out, "demo", SET), pristine)
    return out, pristine


@pytest.fixture
def out(prepared):
    """The prepared store, its feature set restored to the pristine bytes."""
    out, pristine = prepared
    directory = store.feature_dir(out, "demo", SET)
    shutil.rmtree(directory)
    shutil.copytree(pristine, directory)
    return out


def _shard(out, index=1):
    return store.feature_dir(out, "demo", SET) / f"shard-{index:05d}-of-00004.tfrecord"


def _flip(path, where=None):
    data = bytearray(path.read_bytes())
    where = len(data) // 2 if where is None else where
    data[where] ^= 0xFF
    path.write_bytes(bytes(data))


def _recorded_command(out):
    return json.loads((store.feature_dir(out, "demo", SET) / "metadata.json").read_text())[
        "prepare_command"]


def _verify(out, capsys):
    code = cli.main(["demo", "--out", str(out), "--verify"])
    return code, capsys.readouterr().out.strip().splitlines()


def _rerun(out, capsys):
    assert cli.main(_command(out)) == 0
    return capsys.readouterr().out


def _assert_one_line_naming(err, shard, command):
    message = str(err)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"{shard}: damaged: ")
    assert message.endswith(f"re-extract it with: {command}")


def test_markers_record_size_and_sha256(out):
    marker = json.loads(_shard(out).with_name("shard-00001-of-00004.done.json").read_text())
    assert marker["bytes"] == _shard(out).stat().st_size
    assert marker["sha256"] == store.file_sha256(_shard(out))


def test_a_flipped_byte_is_a_one_line_store_error_then_verify_then_the_rerun_repairs_it(
        out, capsys):
    shard, command = _shard(out), _recorded_command(out)
    pristine = shard.read_bytes()
    _flip(shard)
    # reading it for training: the size matches, so the set opens; TensorFlow's record CRC
    # finds the flip while the records are read, and the guard names the shard
    fs = store.open_feature_set(out, "demo", SET)
    feeds = [InputFeed("audio", "sequence", [fs])]
    ds, _ = data_input.make_dataset(feeds, dict.fromkeys(fs.utt_ids, 0), batch_size=8,
                                    shuffle=True)
    with pytest.raises(store.StoreError) as caught:
        with data_input.shard_errors(feeds):
            for _ in ds:
                pass
    _assert_one_line_naming(caught.value, shard, command)
    assert "sha256 differs from its marker's" in str(caught.value)
    with pytest.raises(store.StoreError, match="damaged: sha256 differs"):
        store.open_feature_set(out, "demo", SET, verify=True)   # the opt-in full check
    # --verify names it, one line, and exits non-zero
    code, lines = _verify(out, capsys)
    assert code == 1
    assert f"{shard}: sha256 differs from its marker's (changed after it was written)" in lines
    assert sum(str(store.feature_dir(out, "demo", SET)) in line for line in lines[:-1]) == 1
    assert lines[-1].endswith(f"re-extracts the bad shards: {command}")
    # the same prepare command re-extracts that shard only, and says so
    others = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in shard.parent.glob("*.tfrecord")
              if p != shard}
    printed = _rerun(out, capsys)
    assert (f"{shard}: sha256 differs from its marker's (changed after it was written); "
            "re-extracting it") in printed
    assert shard.read_bytes() == pristine
    assert all((p.read_bytes(), p.stat().st_mtime_ns) == v for p, v in others.items())
    code, lines = _verify(out, capsys)
    assert code == 0 and len(lines) == 1 and "all fine" in lines[0]


def test_a_cut_shard_is_refused_when_opened_then_verify_then_the_rerun_repairs_it(out, capsys):
    shard, command = _shard(out, 2), _recorded_command(out)
    size = shard.stat().st_size
    shard.write_bytes(shard.read_bytes()[:size - 100])
    with pytest.raises(store.StoreError) as caught:
        store.open_feature_set(out, "demo", SET)    # a stat: before any training work
    _assert_one_line_naming(caught.value, shard, command)
    assert f"{size - 100} bytes, its marker records {size}" in str(caught.value)
    code, lines = _verify(out, capsys)
    assert code == 1
    assert f"{shard}: {size - 100} bytes, its marker records {size} (cut or changed after it " \
           "was written)" in lines
    assert "re-extracting it" in _rerun(out, capsys)
    assert shard.stat().st_size == size
    assert _verify(out, capsys)[0] == 0
    assert len(store.open_feature_set(out, "demo", SET).to_dict()) == 60


def test_a_flip_during_keras_fit_is_the_store_error(out):
    import keras

    shard = _shard(out, 0)
    fs = store.open_feature_set(out, "demo", SET)
    _flip(shard)                       # after the set was opened, as during a long run
    ds, _ = data_input.make_dataset([InputFeed("audio", "sequence", [fs])],
                                    dict.fromkeys(fs.utt_ids, 0), batch_size=16)
    audio, mask = keras.Input((None, 39), name="audio"), keras.Input((None,), name="audio_mask")
    model = keras.Model({"audio": audio, "audio_mask": mask},
                        keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(audio)))
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(store.StoreError) as caught:
        with store.shard_errors():     # every set this process read
            model.fit(ds, epochs=1, verbose=0, shuffle=False)
    _assert_one_line_naming(caught.value, shard, _recorded_command(out))


def test_markers_without_a_checksum_are_trusted_and_the_rerun_adds_one(out, capsys):
    directory = store.feature_dir(out, "demo", SET)
    for marker in directory.glob("*.done.json"):   # as an older ser-prepare wrote them
        info = json.loads(marker.read_text())
        del info["sha256"]
        marker.write_text(json.dumps(info))
    assert len(store.open_feature_set(out, "demo", SET).utt_ids) == 60
    code, lines = _verify(out, capsys)
    assert code == 0
    assert f"{directory}: 4 of 4 shard(s): no checksum, re-run ser-prepare to add one " \
           f"({_recorded_command(out)})" in lines
    # a flip in such a shard is still found: by reading its records (CRC) on the error path
    shard = _shard(out, 3)
    pristine = shard.read_bytes()
    _flip(shard)
    fs = store.open_feature_set(out, "demo", SET)
    with pytest.raises(store.StoreError) as caught:
        fs.to_dict()
    _assert_one_line_naming(caught.value, shard, _recorded_command(out))
    assert "unreadable: corrupted record at byte" in str(caught.value)
    code, lines = _verify(out, capsys)
    assert code == 1 and any(line.startswith(f"{shard}: record ") for line in lines)
    shard.write_bytes(pristine)
    printed = _rerun(out, capsys)
    assert "added a checksum to 4 shard marker(s)" in printed
    for marker in directory.glob("*.done.json"):
        info = json.loads(marker.read_text())
        assert info["sha256"] == store.file_sha256(directory / f"{info['shard']}.tfrecord")
    code, lines = _verify(out, capsys)
    assert code == 0 and len(lines) == 1


def test_verify_reports_a_missing_marker_and_records_unlike_their_marker(out, capsys):
    directory = store.feature_dir(out, "demo", SET)
    (directory / "shard-00000-of-00004.done.json").unlink()
    marker = directory / "shard-00003-of-00004.done.json"
    info = json.loads(marker.read_text())
    info["lengths"][0] += 1
    marker.write_text(json.dumps(info))
    code, lines = _verify(out, capsys)
    assert code == 1
    assert (f"{_shard(out, 0)}: no marker shard-00000-of-00004.done.json: unfinished (an "
            "interrupted or running ser-prepare)") in lines
    assert any(line.startswith(f"{_shard(out, 3)}: record 0 (") and "has length" in line
               for line in lines)


def test_verify_extracts_nothing_and_needs_a_store(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path), "--verify"]) == 2
    assert "no prepared corpus here, nothing to verify" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []          # no demo generated, nothing written


def test_the_guard_leaves_other_errors_alone(out):
    with pytest.raises(ValueError, match="not a store problem"):
        with store.shard_errors():
            raise ValueError("not a store problem")
    assert store.read_error(RuntimeError("x")) is None


def test_check_levels_find_nothing_when_the_shards_are_fine(out):
    fs = store.open_feature_set(out, "demo", SET, verify=True)
    for level in store.CHECK_LEVELS:
        for path in fs.shard_paths:
            check = store.check_shard(path.parent, path.name[:-len(".tfrecord")], level,
                                      fs.metadata)
            assert check.complete and check.problem is None and check.note is None
    np.testing.assert_equal(len(fs.to_dict()), 60)


def test_ser_train_on_a_damaged_shard_says_which_and_how_to_rebuild_it(out, tmp_path, capsys):
    from ser_keras.cli.train import main as train_main

    shard = _shard(out, 1)
    _flip(shard)
    code = train_main(["--model", "mmfa-audio", "--dataset", "demo", "--classes", "iemocap4",
                       "--features", f"audio={SET}", "--folds", "0", "--epochs", "1",
                       "--data", str(out), "--runs", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("ser-train: error: ")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err
    _assert_one_line_naming(lines[0][len("ser-train: error: "):], shard, _recorded_command(out))


def test_opening_and_reading_for_training_hash_no_shard(out, monkeypatch):
    hash_file = store.file_sha256

    def no_shard_hashing(path):
        assert not str(path).endswith(".tfrecord"), f"hashed {path} at training start"
        return hash_file(path)   # the manifest's hash (a small file) is checked as before

    monkeypatch.setattr(store, "file_sha256", no_shard_hashing)
    fs = store.open_feature_set(out, "demo", SET)
    ds, ids = data_input.make_dataset([InputFeed("audio", "sequence", [fs])],
                                      dict.fromkeys(fs.utt_ids, 0), batch_size=16)
    with store.shard_errors():
        assert sum(int(batch[1].shape[0]) for batch in ds) == len(ids) == 60

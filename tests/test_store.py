"""The store format: round trip, resume after a crash, refusal of stale or partial sets."""
import json

import numpy as np
import pytest

from ser_keras import store

DESCRIPTION = {"feature_set": "toy", "modality": "audio", "config": {"k": 1}, "dim": 3,
               "rank": "sequence", "dtype": "float32"}


def _manifest(root, corpus="toy", n=7):
    rows = [{"utt_id": f"u{i:02d}", "corpus": corpus, "status": "ok", "label": "neu"}
            for i in range(n)]
    return store.write_manifest(store.manifest_path(root, corpus), rows), [r["utt_id"] for r in rows]


def _array(i):
    return np.arange((i + 1) * 3, dtype=np.float32).reshape(i + 1, 3) / 7


def _write_all(root, sha, ids, description=DESCRIPTION, only=None):
    writer = store.FeatureSetWriter(root, "toy", description, sha, ids, shard_size=3,
                                    log=lambda m: None)
    for index in writer.pending():
        if only is not None and index not in only:
            continue
        shard = writer.open_shard(index)
        for u in writer.shards[index]:
            shard.write(u, _array(int(u[1:])))
        shard.commit()
    return writer


def test_round_trip_keeps_arrays_and_order(tmp_path):
    sha, ids = _manifest(tmp_path)
    _write_all(tmp_path, sha, ids)
    fs = store.open_feature_set(tmp_path, "toy", "toy", expect={"dim": 3, "config.k": 1})
    data = fs.to_dict()
    assert fs.utt_ids == ids and list(data) == ids
    for u in ids:
        np.testing.assert_array_equal(data[u], _array(int(u[1:])))
    assert fs.metadata["num_shards"] == 3 and fs.metadata["manifest_sha256"] == sha


def test_manifest_round_trip_and_columns(tmp_path):
    sha, ids = _manifest(tmp_path)
    rows = store.read_manifest(store.manifest_path(tmp_path, "toy"))
    assert [r["utt_id"] for r in rows] == ids
    assert list(rows[0]) == list(store.MANIFEST_COLUMNS)
    assert rows[0]["start_s"] == "" and rows[0]["status"] == "ok"


def test_incomplete_shards_are_refused_then_resumed_to_identical_bytes(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    for root in (full, part):
        _manifest(root)
    sha, ids = _manifest(full)
    _write_all(full, sha, ids)
    # A crashed run: shard 0 committed, shard 1 left as a temp file, shard 2 renamed but
    # its marker never written.
    writer = _write_all(part, sha, ids, only={0})
    crashed = writer.open_shard(1)
    crashed.write("u03", _array(3))
    crashed._writer.close()
    (writer.directory / f"{writer.shard_name(2)}.tfrecord").write_bytes(b"partial")
    with pytest.raises(store.StoreError, match="2 of 3 shards are incomplete"):
        store.open_feature_set(part, "toy", "toy")
    assert store.FeatureSetWriter(part, "toy", DESCRIPTION, sha, ids, 3).pending() == [1, 2]
    _write_all(part, sha, ids)
    for name in sorted(p.name for p in writer.directory.iterdir()):
        assert (writer.directory / name).read_bytes() == (
            store.feature_dir(full, "toy", "toy") / name).read_bytes(), name
    assert not list(writer.directory.glob("*.tmp"))


def test_truncated_shard_is_not_accepted(tmp_path):
    sha, ids = _manifest(tmp_path)
    writer = _write_all(tmp_path, sha, ids)
    shard = writer.directory / f"{writer.shard_name(1)}.tfrecord"
    shard.write_bytes(shard.read_bytes()[:-5])
    assert writer.pending() == [1]


def test_changed_configuration_rebuilds_the_set(tmp_path):
    sha, ids = _manifest(tmp_path)
    _write_all(tmp_path, sha, ids)
    changed = dict(DESCRIPTION, config={"k": 2})
    messages = []
    writer = store.FeatureSetWriter(tmp_path, "toy", changed, sha, ids, 3, log=messages.append)
    assert writer.pending() == [0, 1, 2]
    assert "rebuilding toy" in messages[0]


def test_reader_refuses_missing_stale_and_unexpected_sets(tmp_path):
    with pytest.raises(store.StoreError, match="not in the store; build it with: ser-prepare"):
        store.open_feature_set(tmp_path, "toy", "toy")
    sha, ids = _manifest(tmp_path)
    _write_all(tmp_path, sha, ids)
    with pytest.raises(store.StoreError, match="dim is 3, expected 39"):
        store.open_feature_set(tmp_path, "toy", "toy", expect={"dim": 39})
    _manifest(tmp_path, n=8)  # the corpus was re-prepared: features are stale
    with pytest.raises(store.StoreError, match="another manifest"):
        store.open_feature_set(tmp_path, "toy", "toy")


def test_failures_and_notes_are_recorded_not_dropped(tmp_path):
    sha, ids = _manifest(tmp_path, n=2)
    writer = store.FeatureSetWriter(tmp_path, "toy", DESCRIPTION, sha, ids, 3)
    shard = writer.open_shard(0)
    shard.write("u00", _array(0), note="empty_text")
    shard.write("u01", np.full((2, 3), np.nan, np.float32))
    marker = shard.commit()
    assert marker["failures"] == {"u01": "non_finite_features"}
    fs = store.open_feature_set(tmp_path, "toy", "toy")
    assert fs.utt_ids == ["u00"] and fs.notes == {"u00": "empty_text"}
    assert json.loads((writer.directory / "metadata.json").read_text())["num_utterances"] == 2

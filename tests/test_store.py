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


def _write_all(root, sha, ids, description=DESCRIPTION, only=None, array=_array,
               failed=()):
    writer = store.FeatureSetWriter(root, "toy", description, sha, ids, shard_size=3,
                                    log=lambda m: None)
    for index in writer.pending():
        if only is not None and index not in only:
            continue
        shard = writer.open_shard(index)
        for u in writer.shards[index]:
            if u in failed:
                shard.fail(u, "extract_error: test")
            else:
                shard.write(u, array(int(u[1:])))
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


# --- format 2: lengths in the markers, dtype ------------------------------------------------
VECTOR = dict(DESCRIPTION, feature_set="toy", rank="vector")


def _markers(directory):
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.done.json"))]


def test_lengths_of_a_sequence_set_are_in_the_markers_and_match_the_arrays(tmp_path):
    sha, ids = _manifest(tmp_path)
    writer = _write_all(tmp_path, sha, ids)
    for marker in _markers(writer.directory):
        assert marker["lengths"] == [int(u[1:]) + 1 for u in marker["utt_ids"]]
    fs = store.open_feature_set(tmp_path, "toy", "toy")
    data = fs.to_dict()
    assert fs.lengths == {u: a.shape[0] for u, a in data.items()}
    assert fs.lengths == {u: int(u[1:]) + 1 for u in ids}
    assert (fs.rank, fs.dim, fs.dtype) == (2, 3, "float32")
    assert fs.metadata["format_version"] == store.FORMAT_VERSION == 2
    assert fs.metadata["rank"] == "sequence" and fs.metadata["dtype"] == "float32"


def test_lengths_of_a_vector_set_are_one(tmp_path):
    sha, ids = _manifest(tmp_path)
    writer = _write_all(tmp_path, sha, ids, VECTOR, array=lambda i: np.full(3, i, np.float32))
    assert [m["lengths"] for m in _markers(writer.directory)] == [[1, 1, 1], [1, 1, 1], [1]]
    fs = store.open_feature_set(tmp_path, "toy", "toy")
    data = fs.to_dict()
    assert {a.shape for a in data.values()} == {(3,)} and fs.rank == 1 and fs.dim == 3
    assert fs.lengths == dict.fromkeys(ids, 1) and fs.longest(ids) == 1


def test_arrays_of_another_rank_or_dim_are_refused_by_the_writer(tmp_path):
    sha, ids = _manifest(tmp_path, n=1)
    shard = store.FeatureSetWriter(tmp_path, "toy", DESCRIPTION, sha, ids, 3).open_shard(0)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        shard.write("u00", np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
        shard.write("u00", np.zeros((2, 4), np.float32))
    shard.abort()
    with pytest.raises(ValueError, match="float64"):
        store.FeatureSetWriter(tmp_path, "toy", dict(DESCRIPTION, dtype="float64"), sha, ids, 3)


def test_dtype_defaults_to_float32(tmp_path):
    sha, ids = _manifest(tmp_path, n=2)
    description = {k: v for k, v in DESCRIPTION.items() if k != "dtype"}
    _write_all(tmp_path, sha, ids, description=description)
    fs = store.open_feature_set(tmp_path, "toy", "toy")
    assert fs.dtype == fs.metadata["dtype"] == "float32"


def test_float16_set_round_trips_as_float32_tensors(tmp_path):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    arrays = {f"u{i:02d}": (rng.normal(size=(i + 2, 3)) * 10 ** i).astype(np.float32)
              for i in range(4)}
    sha, ids = _manifest(tmp_path, n=4)
    half = dict(DESCRIPTION, dtype="float16")
    writer = store.FeatureSetWriter(tmp_path, "toy", half, sha, ids, 3, log=lambda m: None)
    for index in writer.pending():
        shard = writer.open_shard(index)
        for u in writer.shards[index]:
            shard.write(u, arrays[u])
        shard.commit()
    fs = store.open_feature_set(tmp_path, "toy", "toy", expect={"dtype": "float16"})
    assert fs.dtype == "float16"
    element = fs.dataset().element_spec["features"]
    assert element.dtype == tf.float32 and element.shape.as_list() == [None, 3]
    data = fs.to_dict()
    assert list(data) == ids and fs.lengths == {u: a.shape[0] for u, a in arrays.items()}
    for u, a in arrays.items():
        assert data[u].dtype == np.float32 and data[u].shape == a.shape
        np.testing.assert_array_equal(data[u], a.astype(np.float16).astype(np.float32))
        np.testing.assert_allclose(data[u], a, rtol=2 ** -11, atol=0)   # float16: 11 bits
        assert not np.array_equal(data[u], a)  # really stored in half precision
    # Half the bytes of a float32 record's data (2 per value, not 4).
    record = next(iter(tf.data.TFRecordDataset(str(fs.shard_paths[0])))).numpy()
    example = tf.train.Example.FromString(record)
    assert len(example.features.feature["data"].bytes_list.value[0]) == 2 * arrays["u00"].size


def test_float16_overflow_is_a_recorded_failure(tmp_path):
    sha, ids = _manifest(tmp_path, n=2)
    writer = store.FeatureSetWriter(tmp_path, "toy", dict(DESCRIPTION, dtype="float16"), sha,
                                    ids, 3)
    shard = writer.open_shard(0)
    shard.write("u00", _array(0))
    shard.write("u01", np.full((2, 3), 1e6, np.float32))   # finite, beyond float16's 65504
    marker = shard.commit()
    assert marker["failures"] == {"u01": "out_of_float16_range"}
    assert marker["utt_ids"] == ["u00"] and marker["lengths"] == [1]


def _as_format_1(directory):
    """What a format-1 writer left: metadata version 1, markers without lengths."""
    meta = json.loads((directory / "metadata.json").read_text())
    meta["format_version"] = 1
    (directory / "metadata.json").write_text(json.dumps(meta))
    for marker in directory.glob("*.done.json"):
        info = json.loads(marker.read_text())
        del info["lengths"]
        marker.write_text(json.dumps(info))


def test_a_format_1_set_is_refused_with_the_rebuild_command_then_rebuilt(tmp_path):
    sha, ids = _manifest(tmp_path)
    command = f"ser-prepare toy /corpora/toy --out {tmp_path} --features toy"
    writer = store.FeatureSetWriter(tmp_path, "toy", DESCRIPTION, sha, ids, 3,
                                    prepare_command=command, log=lambda m: None)
    for index in writer.pending():
        shard = writer.open_shard(index)
        for u in writer.shards[index]:
            shard.write(u, _array(int(u[1:])))
        shard.commit()
    _as_format_1(writer.directory)
    with pytest.raises(store.StoreError) as caught:
        store.open_feature_set(tmp_path, "toy", "toy")
    message = str(caught.value)
    assert str(writer.directory / "metadata.json") in message
    assert "store format is 1 and this version of ser-keras reads 2" in message
    assert message.endswith(f"rebuild with: {command}")
    # The same command again: the format-1 set is replaced, not resumed.
    messages = []
    again = store.FeatureSetWriter(tmp_path, "toy", DESCRIPTION, sha, ids, 3,
                                   prepare_command=command, log=messages.append)
    assert messages == [f"{again.directory}: store format 1, this version writes 2; "
                        "rebuilding toy"]
    assert again.pending() == [0, 1, 2] and not list(again.directory.glob("shard-*"))
    _write_all(tmp_path, sha, ids)
    assert store.open_feature_set(tmp_path, "toy", "toy").longest(ids) == 7


def test_a_newer_format_asks_for_an_upgrade(tmp_path):
    sha, ids = _manifest(tmp_path, n=2)
    writer = _write_all(tmp_path, sha, ids)
    meta = json.loads((writer.directory / "metadata.json").read_text())
    (writer.directory / "metadata.json").write_text(json.dumps(dict(meta, format_version=3)))
    with pytest.raises(store.StoreError, match="format is 3 .* reads 2; upgrade ser-keras or "
                                               "rebuild with: ser-prepare"):
        store.open_feature_set(tmp_path, "toy", "toy")


@pytest.mark.parametrize("edit", ["drop", "short", "null"])
def test_a_marker_without_lengths_is_an_incomplete_shard(tmp_path, edit):
    sha, ids = _manifest(tmp_path)
    writer = _write_all(tmp_path, sha, ids)
    marker = writer.directory / f"{writer.shard_name(1)}.done.json"
    info = json.loads(marker.read_text())
    if edit == "drop":
        del info["lengths"]
    elif edit == "short":
        info["lengths"] = info["lengths"][:-1]
    else:
        info["lengths"] = [None] * len(info["utt_ids"])
    marker.write_text(json.dumps(info))
    with pytest.raises(store.StoreError, match=r"1 of 3 shards are incomplete \(first: "
                                               r"shard-00001-of-00003\); finish them with"):
        store.open_feature_set(tmp_path, "toy", "toy")
    assert writer.pending() == [1]
    _write_all(tmp_path, sha, ids)   # the re-run redoes that shard
    assert len(store.open_feature_set(tmp_path, "toy", "toy").lengths) == 7


def test_longest(tmp_path):
    sha, ids = _manifest(tmp_path)
    _write_all(tmp_path, sha, ids, failed=("u05",))
    fs = store.open_feature_set(tmp_path, "toy", "toy")
    assert fs.longest(fs.utt_ids) == 7 and fs.longest() == 7
    assert fs.longest(["u00", "u02"]) == 3 and fs.longest(iter(["u04"])) == 5
    assert fs.longest(["u00", "u04", "u01"]) == 5   # the largest, not the last
    assert fs.longest([]) == 0
    with pytest.raises(KeyError, match="u05 is not in feature set toy.*extract_error: test"):
        fs.longest(["u00", "u05"])
    with pytest.raises(KeyError, match="nope"):
        fs.longest(["nope"])

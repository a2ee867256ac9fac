"""tf.data input from the store: joining feature sets, per-batch padding, masks, labels."""
import numpy as np
import pytest

from fake_store import make_fake_store
from ser_keras.data import get_class_set
from ser_keras.data import input as data_input


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    rows = make_fake_store(root, failed=("Ses01F_impro01_M000",))
    sets = data_input.open_inputs(root, "fake", {"audio": "audio_feats", "text": "text_feats"})
    return root, rows, sets


def test_batches_are_padded_to_their_own_longest_sample_with_masks(fake):
    root, rows, sets = fake
    selected, _ = data_input.select_rows(rows, get_class_set("iemocap4"), "mixed")
    labels = data_input.label_indices(selected, get_class_set("iemocap4"))
    ds, ids = data_input.make_dataset(sets, labels, batch_size=4)
    audio = sets["audio"].to_dict()
    text = sets["text"].to_dict()
    seen = []
    for x, y in ds.as_numpy_iterator():
        batch_ids = ids[len(seen):len(seen) + len(y)]
        lengths = [audio[u].shape[0] for u in batch_ids]
        assert x["audio"].shape[1] == max(lengths)          # this batch's longest, not the corpus's
        for row, u in enumerate(batch_ids):
            n, m = audio[u].shape[0], text[u].shape[0]
            np.testing.assert_array_equal(x["audio"][row, :n], audio[u])
            assert x["audio_mask"][row].sum() == n and not x["audio"][row, n:].any()
            np.testing.assert_array_equal(x["text"][row, :m], text[u])
            assert x["text_mask"][row, :m].all() and not x["text_mask"][row, m:].any()
            assert y[row] == labels[u]
        seen += batch_ids
    assert seen == ids


def test_utterances_without_features_are_reported_not_silently_lost(fake):
    root, rows, sets = fake
    wanted = ["Ses01F_impro01_M000", "Ses01F_impro01_F000"]
    ids, missing = data_input.available_ids(sets, wanted)
    assert ids == ["Ses01F_impro01_F000"]
    assert missing == {"Ses01F_impro01_M000": "audio_feats: extract_error: test"}


def test_shuffle_is_seeded_and_padding_to_corpus_longest_is_available(fake):
    root, rows, sets = fake
    labels = {r["utt_id"]: 0 for r in rows if r["status"] == "ok"}
    order = lambda seed: [x["audio"].shape for x, _ in data_input.make_dataset(
        sets, labels, batch_size=8, shuffle=True, seed=seed)[0].as_numpy_iterator()]
    assert order(3) == order(3) != order(4)
    usable = len(labels) - 1  # one utterance failed extraction
    assert len(order(3)) == -(-usable // 8)
    fixed, _ = data_input.make_dataset(sets, labels, batch_size=8,
                                       pad_to_longest_in_corpus=True)
    assert len({x["audio"].shape[1] for x, _ in fixed.as_numpy_iterator()}) == 1


def test_input_spec_reads_dims_from_the_store(fake):
    _, _, sets = fake
    assert data_input.input_spec(sets, 4) == {
        "inputs": {"audio": {"dim": 5, "feature_set": "audio_feats"},
                   "text": {"dim": 4, "feature_set": "text_feats"}}, "num_classes": 4}

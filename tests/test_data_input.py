"""tf.data input from the store: named inputs of any rank, concatenation, streams, crops,
fixed padding, raw transcripts, class weights."""
import numpy as np
import pytest

from fake_store import make_fake_store
from ser_keras import store
from ser_keras.config import InputOptions
from ser_keras.data import get_class_set
from ser_keras.data import input as data_input
from ser_keras.data.input import InputFeed
from ser_keras.errors import ConfigError, StoreError


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    rows = make_fake_store(root, failed=("Ses01F_impro01_M000",))
    sets = {name: store.open_feature_set(root, "fake", name)
            for name in ("audio_feats", "text_feats", "audio_twin", "vec_feats", "vec_small")}
    selected, _ = data_input.select_rows(rows, get_class_set("iemocap4"), "mixed")
    labels = data_input.label_indices(selected, get_class_set("iemocap4"))
    return root, rows, sets, labels


def _batches(feeds, labels, **kwargs):
    ds, ids = data_input.make_dataset(feeds, labels, batch_size=4, **kwargs)
    return list(ds.as_numpy_iterator()), ids


def test_sequence_batches_are_padded_to_their_own_longest_sample_with_masks(fake):
    # build
    _, _, sets, labels = fake
    feeds = [InputFeed("audio", "sequence", [sets["audio_feats"]]),
             InputFeed("text", "sequence", [sets["text_feats"]])]
    audio, text = sets["audio_feats"].to_dict(), sets["text_feats"].to_dict()
    # act
    batches, ids = _batches(feeds, labels)
    # assert
    seen = []
    for x, y in batches:
        batch_ids = ids[len(seen):len(seen) + len(y)]
        assert x["audio"].shape[1] == max(audio[u].shape[0] for u in batch_ids)
        for row, u in enumerate(batch_ids):
            n, m = audio[u].shape[0], text[u].shape[0]
            np.testing.assert_array_equal(x["audio"][row, :n], audio[u])
            assert x["audio_mask"][row].sum() == n and not x["audio"][row, n:].any()
            np.testing.assert_array_equal(x["text"][row, :m], text[u])
            assert x["text_mask"][row, :m].all() and not x["text_mask"][row, m:].any()
            assert y[row] == labels[u]
        seen += batch_ids
    assert seen == ids


def test_vector_inputs_have_no_mask_and_concatenate_on_the_feature_axis(fake):
    _, _, sets, labels = fake
    feeds = [InputFeed("audio", "vector", [sets["vec_feats"], sets["vec_small"]])]
    vec, small = sets["vec_feats"].to_dict(), sets["vec_small"].to_dict()
    batches, ids = _batches(feeds, labels)
    x, _ = batches[0]
    assert set(x) == {"audio"} and x["audio"].shape == (4, 11)
    np.testing.assert_array_equal(x["audio"][2], np.concatenate([vec[ids[2]], small[ids[2]]]))
    assert data_input.input_spec(feeds, 4)["inputs"]["audio"] == {
        "rank": "vector", "dim": 11, "feature_sets": ["vec_feats", "vec_small"], "length": None}


def test_sequence_sets_concatenate_and_streams_stay_separate(fake):
    _, _, sets, labels = fake
    feeds = [InputFeed("mfcc", "sequence", [sets["audio_feats"], sets["audio_twin"]]),
             InputFeed("mel", "sequence", [sets["text_feats"]])]
    audio, twin = sets["audio_feats"].to_dict(), sets["audio_twin"].to_dict()
    batches, ids = _batches(feeds, labels)
    x, _ = batches[0]
    n = audio[ids[0]].shape[0]
    assert x["mfcc"].shape[2] == 7 and set(x) == {"mfcc", "mfcc_mask", "mel", "mel_mask"}
    np.testing.assert_array_equal(x["mfcc"][0, :n], np.hstack([audio[ids[0]], twin[ids[0]]]))
    assert x["mfcc_mask"][0].sum() == n


def test_a_set_of_the_wrong_rank_is_refused_naming_it(fake):
    _, _, sets, _ = fake
    with pytest.raises(ConfigError, match="vec_feats is a vector set.*mlp"):
        InputFeed("audio", "sequence", [sets["vec_feats"]])
    with pytest.raises(ConfigError, match="audio_feats is a sequence set"):
        InputFeed("audio", "vector", [sets["audio_feats"]])


def test_sequence_sets_of_other_frame_rates_are_not_concatenated(fake):
    _, _, sets, labels = fake
    feeds = [InputFeed("x", "sequence", [sets["audio_feats"], sets["text_feats"]])]
    with pytest.raises(store.StoreError, match="separate streams"):
        data_input.make_dataset(feeds, labels, batch_size=4)


def test_training_crops_are_random_and_evaluation_is_whole(fake):
    # build: crops of 6 frames (0.06 s at the fake 10 ms shift) on the audio input
    _, _, sets, labels = fake
    feeds = [InputFeed("audio", "sequence", [sets["audio_feats"]], InputOptions(crop_seconds=0.06))]
    audio = sets["audio_feats"].to_dict()
    # act
    ds, ids = data_input.make_dataset(feeds, labels, batch_size=100, shuffle=False,
                                      training=True)
    epoch1, epoch2 = list(ds.as_numpy_iterator()), list(ds.as_numpy_iterator())
    whole, _ = _batches(feeds, labels)
    # assert
    x1, x2 = epoch1[0][0], epoch2[0][0]
    assert x1["audio"].shape[1] == 6
    long_ones = [i for i, u in enumerate(ids) if audio[u].shape[0] > 6]
    for i in long_ones:
        window = x1["audio"][i]
        full = audio[ids[i]]
        starts = [s for s in range(full.shape[0] - 5) if np.array_equal(full[s:s + 6], window)]
        assert starts, "a crop is a window of the utterance"
    assert any(not np.array_equal(x1["audio"][i], x2["audio"][i]) for i in long_ones)
    assert max(b[0]["audio"].shape[1] for b in whole) > 6  # validation/test: whole utterances


def test_fixed_padding_pads_and_cuts(fake):
    _, _, sets, labels = fake
    feeds = [InputFeed("audio", "sequence", [sets["audio_feats"]], InputOptions(pad_to_frames=10))]
    audio = sets["audio_feats"].to_dict()
    batches, ids = _batches(feeds, labels)
    assert {b[0]["audio"].shape[1] for b in batches} == {10}
    n = audio[ids[0]].shape[0]
    assert batches[0][0]["audio_mask"][0].sum() == min(n, 10)


def test_transcripts_are_cleaned_and_tokenised_in_the_pipeline(fake, tmp_path):
    import keras_hub
    from tiny_bert import make_tiny_bert

    from ser_keras.data.text import clean_transcript

    _, rows, _, labels = fake
    directory = make_tiny_bert(tmp_path / "bert")
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor.from_preset(
        str(directory), sequence_length=12)
    texts = {r["utt_id"]: clean_transcript(r.get("text", "")) for r in rows}
    feeds = [InputFeed("text", "tokens", options=InputOptions(max_tokens=12),
                       preprocessor=preprocessor, texts=texts)]
    batches, ids = _batches(feeds, labels)
    x, _ = batches[0]
    assert set(x) == {"text_token_ids", "text_padding_mask", "text_segment_ids"}
    expected = np.asarray(preprocessor(texts[ids[0]])["token_ids"])
    np.testing.assert_array_equal(x["text_token_ids"][0], expected)
    assert "[LAUGHTER]" not in texts[ids[0]] and x["text_token_ids"].shape == (4, 12)


def test_class_weights_become_sample_weights(fake):
    _, _, sets, labels = fake
    feeds = [InputFeed("audio", "vector", [sets["vec_feats"]])]
    weights = [1.0, 2.0, 3.0, 4.0]
    batches, _ = _batches(feeds, labels, sample_weights=weights)
    for _, y, w in batches:
        np.testing.assert_array_equal(w, np.asarray(weights, np.float32)[y])


def test_utterances_without_features_are_reported_not_silently_lost(fake):
    _, _, sets, _ = fake
    wanted = ["Ses01F_impro01_M000", "Ses01F_impro01_F000"]
    ids, missing = data_input.available_ids([sets["audio_feats"]], wanted)
    assert ids == ["Ses01F_impro01_F000"]
    assert missing == {"Ses01F_impro01_M000": "audio_feats: extract_error: test"}


def test_shuffle_is_seeded_and_padding_to_corpus_longest_uses_store_lengths(fake):
    _, rows, sets, _ = fake
    labels = {r["utt_id"]: 0 for r in rows if r["status"] == "ok"}
    feeds = [InputFeed("audio", "sequence", [sets["audio_feats"]])]
    order = lambda seed: [x["audio"].shape for x, _ in data_input.make_dataset(
        feeds, labels, batch_size=8, shuffle=True, seed=seed)[0].as_numpy_iterator()]
    assert order(3) == order(3) != order(4)
    usable = len(labels) - 1  # one utterance failed extraction
    assert len(order(3)) == -(-usable // 8)
    fixed, ids = data_input.make_dataset(feeds, labels, batch_size=8,
                                         pad_to_longest_in_corpus=True)
    lengths = {x["audio"].shape[1] for x, _ in fixed.as_numpy_iterator()}
    assert lengths == {max(sets["audio_feats"].lengths[u] for u in ids)}


def test_pad_to_longest_pads_every_split_to_the_longest_sample_of_the_set(fake):
    """kakuba2023 Sec. III-D: "we keep track of the maximum number of frames and apply
    padding": one length for train, validation and test, masks marking the padding."""
    _, rows, sets, labels = fake
    feeds = [InputFeed("audio", "sequence", [sets["audio_feats"]],
                       InputOptions(pad_to_longest=True))]
    few = dict(list(labels.items())[:5])      # a small split: its own longest is shorter
    longest = sets["audio_feats"].longest()
    batches, ids = _batches(feeds, few)
    assert {x["audio"].shape[1] for x, _ in batches} == {longest}
    assert max(sets["audio_feats"].lengths[u] for u in ids) < longest
    for x, _ in batches:
        for i, u in enumerate(ids[:len(x["audio"])]):
            assert x["audio_mask"][i].sum() == sets["audio_feats"].lengths[u]
        break
    with pytest.raises(ConfigError, match="pad_to_longest or pad_to_frames"):
        InputOptions(pad_to_longest=True, pad_to_frames=9).validate("input_options.audio")


def test_continuous_targets_skip_rows_without_values(fake):
    _, rows, sets, _ = fake
    values, lacking = data_input.continuous_targets(rows, ["valence", "arousal"])
    assert "Ses01F_impro01_F999" in lacking and len(values) == len(rows) - 1
    feeds = [InputFeed("audio", "vector", [sets["vec_feats"]])]
    batches, ids = _batches(feeds, values)
    np.testing.assert_allclose(batches[0][1][0], values[ids[0]], rtol=1e-6)


def test_continuous_targets_read_the_manifest_scores():
    rows = [{"utt_id": "a", "corpus": "mosei", "valence": "1.5",
             "scores": "happy=1;sad=0.333333;anger=0"},
            {"utt_id": "b", "corpus": "mosei", "valence": "", "scores": "happy=0;sad=2;anger=0"},
            {"utt_id": "c", "corpus": "mosei", "valence": "0", "scores": ""}]
    values, lacking = data_input.continuous_targets(rows, ["happy", "sad"])
    assert values == {"a": [1.0, 0.333333], "b": [0.0, 2.0]}
    assert set(lacking) == {"c"}
    # a dimension column and a score together
    values, _ = data_input.continuous_targets(rows, ["valence", "sad"])
    assert values == {"a": [1.5, 0.333333]}
    with pytest.raises(ConfigError, match=r"targets \['joy'\]: no manifest column or score of "
                                          r"mosei .*scores: anger, happy, sad"):
        data_input.continuous_targets(rows, ["happy", "joy"])


def test_a_malformed_scores_cell_is_a_one_line_store_error():
    rows = [{"utt_id": "a", "corpus": "mosei", "scores": "happy=1;sad"}]
    with pytest.raises(StoreError, match=r"m.csv: a: 'sad' is not name=value.*re-run ser-prepare"):
        data_input.continuous_targets(rows, ["happy"], "m.csv")
    rows = [{"utt_id": "a", "corpus": "mosei", "scores": ""}]
    with pytest.raises(ConfigError, match="no row has scores.*re-run ser-prepare mosei"):
        data_input.continuous_targets(rows, ["happy"])

"""bert_tokens through keras-hub on a tiny random BERT saved in Hugging Face format."""
import numpy as np
import pytest

from data_prep.errors import PrepareError
from data_prep.features import bert
from data_prep.features.bert import BertTokens, clean_text
from ser_keras.data.text import clean_transcript
from tiny_bert import make_tiny_bert



def test_token_embeddings_shapes_and_special_tokens(tiny_bert):
    feature = BertTokens(text_encoder=str(tiny_bert))
    (happy, note), = feature.extract_batch(["I am so happy!"])
    assert happy.shape == (2 + 5, 8) and happy.dtype == np.float32 and note is None
    assert feature.describe()["dim"] == 8


def test_empty_and_tag_only_transcripts_are_explicit(tiny_bert):
    feature = BertTokens(text_encoder=str(tiny_bert))
    results = feature.extract_batch(["", "[LAUGHTER]", "  [BREATHING] [GARBAGE] "])
    assert [(a.shape[0], n) for a, n in results] == [(2, "empty_text")] * 3


def test_batching_and_padding_do_not_change_embeddings(tiny_bert):
    texts = ["why", "excuse me hello , you are so sorry what is this", "fine"]
    batched = BertTokens(text_encoder=str(tiny_bert), batch_size=3).extract_batch(texts)
    alone = [BertTokens(text_encoder=str(tiny_bert)).extract_batch([t])[0] for t in texts]
    for (a, _), (b, _) in zip(batched, alone):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_long_text_is_truncated_to_the_position_limit(tiny_bert):
    (array, note), = BertTokens(text_encoder=str(tiny_bert)).extract_batch(["ok " * 100])
    assert array.shape == (64, 8) and note == "truncated"


def test_tags_are_stripped_but_words_kept():
    assert clean_text("Do you [LAUGHTER] get it?", True) == "Do you get it?"
    assert clean_text("Do you [LAUGHTER] get it?", False) == "Do you [LAUGHTER] get it?"


def test_stage_1_cleans_with_the_stage_2_function():
    # Stage 2 tokenises raw transcripts and must clean them exactly as stage 1 did.
    assert bert.clean_text is clean_transcript
    assert clean_transcript("Do you [LAUGHTER] get it?") == "Do you get it?"   # default: strip
    assert clean_transcript("  [BREATHING] [GARBAGE] ") == ""
    assert clean_transcript("ok[NOISE]then  \n [LIPSMACK]  go") == "ok then go"
    assert clean_transcript("a [laughter] b [A_B C] c") == "a [laughter] b c"  # upper case only
    assert clean_transcript(" two\t spaces ", strip_tags=False) == "two spaces"


def test_tokens_are_those_of_the_cleaned_text(tiny_bert, monkeypatch):
    feature = BertTokens(text_encoder=str(tiny_bert))
    raw = feature.token_ids(["Do you [LAUGHTER] get it?"])
    assert raw == feature.token_ids([clean_transcript("Do you [LAUGHTER] get it?")])
    calls = []
    monkeypatch.setattr(bert, "clean_transcript",
                        lambda text, strip_tags=True: calls.append(strip_tags) or text)
    BertTokens(text_encoder=str(tiny_bert), strip_tags=False).token_ids(["a", "b"])
    assert calls == [False, False]


def test_checkpoint_identity_is_in_the_metadata(tiny_bert, tmp_path):
    other = make_tiny_bert(tmp_path / "other", seed=1)
    a = BertTokens(text_encoder=str(tiny_bert)).describe()["config"]["checkpoint_sha256"]
    b = BertTokens(text_encoder=str(other)).describe()["config"]["checkpoint_sha256"]
    assert a != b


def test_bad_text_encoder_is_one_clear_error(tmp_path):
    (tmp_path / "not_bert").mkdir()
    with pytest.raises(PrepareError, match="not a Hugging Face BERT directory"):
        BertTokens(text_encoder=str(tmp_path / "not_bert")).describe()

"""bert_mean (mean BERT token embedding, triantafyllopoulos2022) on a tiny random BERT."""
import numpy as np
import pytest

from data_prep.features.bert import BertMean, BertTokens

TEXTS = ["I am so happy!", "why", "excuse me hello , you are so sorry what is this", "fine"]



def test_mean_of_bert_tokens_rows_including_cls_sep(tiny_bert):
    tokens = BertTokens(text_encoder=str(tiny_bert)).extract_batch(TEXTS)
    means = BertMean(text_encoder=str(tiny_bert)).extract_batch(TEXTS)
    assert len(means) == len(TEXTS)
    for (t, tn), (m, mn) in zip(tokens, means):
        assert m.shape == (8,) and m.dtype == np.float32 and mn == tn
        np.testing.assert_allclose(m, t.mean(axis=0), atol=1e-6)


def test_word_pieces_only_option(tiny_bert):
    tokens = BertTokens(text_encoder=str(tiny_bert)).extract_batch(TEXTS)
    means = BertMean(text_encoder=str(tiny_bert), include_special=False).extract_batch(TEXTS)
    for (t, _), (m, _) in zip(tokens, means):
        np.testing.assert_allclose(m, t[1:-1].mean(axis=0), atol=1e-6)


def test_empty_text_is_handled(tiny_bert):
    for include in (True, False):
        feature = BertMean(text_encoder=str(tiny_bert), include_special=include)
        results = feature.extract_batch(["", "[LAUGHTER]", "fine"])
        assert [n for _, n in results] == ["empty_text", "empty_text", None]
        cls_sep = BertTokens(text_encoder=str(tiny_bert)).extract_batch([""])[0][0]
        for m, _ in results[:2]:
            assert m.shape == (8,) and np.isfinite(m).all()
            np.testing.assert_allclose(m, cls_sep.mean(axis=0), atol=1e-6)
    assert BertMean(text_encoder=str(tiny_bert)).extract_batch([]) == []


def test_batching_and_truncation(tiny_bert):
    batched = BertMean(text_encoder=str(tiny_bert), batch_size=2).extract_batch(TEXTS)
    alone = [BertMean(text_encoder=str(tiny_bert)).extract_batch([t])[0][0] for t in TEXTS]
    for (a, _), b in zip(batched, alone):
        np.testing.assert_allclose(a, b, atol=1e-5)
    (m, note), = BertMean(text_encoder=str(tiny_bert)).extract_batch(["ok " * 100])
    assert m.shape == (8,) and note == "truncated"


def test_describe(tiny_bert):
    d = BertMean(text_encoder=str(tiny_bert)).describe()
    assert d["feature_set"] == "bert_mean" and d["rank"] == "vector" and d["dim"] == 8
    assert d["modality"] == "text" and d["config"]["include_special"] is True
    assert d["config"]["checkpoint_sha256"] == BertTokens(
        text_encoder=str(tiny_bert)).describe()["config"]["checkpoint_sha256"]
    d2 = BertMean(text_encoder=str(tiny_bert), include_special=False).describe()
    assert d2["config"] != d["config"]

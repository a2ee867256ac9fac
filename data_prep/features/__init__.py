"""Feature sets of stage 1, one module per extractor family, and their registry.

``FEATURE_SETS`` maps store names to classes. Audio sets (``modality == "audio"``) run in worker
processes on a decoded signal; text sets run in the main process on batches of transcripts.

| family | module | sets |
|---|---|---|
| openSMILE | ``smile``, ``gemaps`` | mfcc39_smile; egemaps_lld, egemaps_func, gemaps_func (one pass) |
| librosa | ``librosa_sets`` | mfcc39, mfcc39_mean, logmel64, mel, mel_mean, chroma, chroma_mean, raw, raw_fixed, prosody8 |
| BERT (keras-hub) | ``bert`` | bert_tokens, bert_mean |
| wav2vec 2.0 (Keras) | ``w2v2`` | w2v2_mean |
"""
from __future__ import annotations

from data_prep.features.base import AudioFeature
from data_prep.features.bert import BertMean, BertTokens
from data_prep.features.gemaps import EGeMAPSFunc, EGeMAPSLLD, GeMAPSFunc
from data_prep.features.librosa_sets import LIBROSA_SETS
from data_prep.features.smile import SmileMfcc39
from data_prep.features.w2v2 import W2V2_SETS

FEATURE_SETS: dict[str, type] = {}


def _register(cls: type) -> None:
    if cls.name in FEATURE_SETS:
        raise ValueError(f"feature set {cls.name!r} registered twice")
    FEATURE_SETS[cls.name] = cls


for _cls in (SmileMfcc39, EGeMAPSLLD, EGeMAPSFunc, GeMAPSFunc, *LIBROSA_SETS, BertTokens,
             BertMean, *W2V2_SETS):
    _register(_cls)


def get_feature_set(name: str, **options):
    """An instance of the named feature set; unknown names fail listing the known ones."""
    try:
        cls = FEATURE_SETS[name]
    except KeyError:
        raise ValueError(f"unknown feature set {name!r}; known: "
                         f"{', '.join(sorted(FEATURE_SETS))}") from None
    return cls(**options)


__all__ = ["AudioFeature", "FEATURE_SETS", "get_feature_set"]

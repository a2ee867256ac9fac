"""alqurashi2024's wav2vec 2.0 speech models (``w2v2``, ``w2v2-asr``; Sec. II-B 2-3) and the
wav2vec 2.0 backbone in Keras 3, built from a Hugging Face checkpoint:

    config.py   Wav2Vec2Config (config.json's architecture), Wav2Vec2ClassifierConfig
    layers.py   the backbone's layers (keras.ops only)
    model.py    Wav2Vec2Backbone, Wav2Vec2Classifier, the registry builder and recipe
    weights.py  Hugging Face checkpoints (hf:// or a local directory) <-> Keras variables
"""
from ser_keras.models.wav2vec2.config import Wav2Vec2ClassifierConfig, Wav2Vec2Config
from ser_keras.models.wav2vec2.model import (
    AUDIO_INPUT,
    PAPER,
    PAPER_NUM_CLASSES,
    TRAINING,
    W2V2_ASR_CHECKPOINT,
    W2V2_ASR_DEFAULTS,
    W2V2_CHECKPOINT,
    W2V2_DEFAULTS,
    Wav2Vec2Backbone,
    Wav2Vec2Classifier,
    build_wav2vec2_classifier,
    load_backbone,
    select_layer,
)
from ser_keras.models.wav2vec2.weights import (
    load_state_dict,
    open_checkpoint,
    save_checkpoint,
)

__all__ = ["AUDIO_INPUT", "PAPER", "PAPER_NUM_CLASSES", "TRAINING", "W2V2_ASR_CHECKPOINT",
           "W2V2_ASR_DEFAULTS", "W2V2_CHECKPOINT", "W2V2_DEFAULTS", "Wav2Vec2Backbone",
           "Wav2Vec2ClassifierConfig", "Wav2Vec2Classifier", "Wav2Vec2Config",
           "build_wav2vec2_classifier", "load_backbone", "load_state_dict", "open_checkpoint",
           "save_checkpoint", "select_layer"]

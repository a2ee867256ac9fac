"""What the kakuba2023 families share: declared inputs, the Table 2 training recipe, the paper's
class counts, config checks and a few masked building blocks.

Kakuba, Poulose, Han, "Deep Learning Approaches for Bimodal Speech Emotion Recognition:
Advancements, Challenges, and a Multi-Learning Model", IEEE Access 2023
(``/work/shared/papers/kakuba2023_dbmer.txt``). Table 2 gives one set of ranges for every
experiment: Adam, lr 4e-4 - 1e-3, batch 32 & 64, 50 - 100 epochs, 2 - 4 heads, embedding dim 256,
kernel L2 1e-5, Glorot uniform, dropout 20 % - 50 %; Sec. III: class weights "as functions of the
smallest class"; ReLU everywhere except tanh in the BiLSTMs (Sec. III-B) and ELU in the Fig. 2
model (Sec. III-A). Original stack: Keras 2.6 / TensorFlow 2.6.
"""
from __future__ import annotations

from typing import Any

import keras
from keras import ops

from ser_keras.errors import ConfigError
from ser_keras.models.registry import InputDecl

PAPER = "kakuba2023"

# Sec. III-A: utterance-level statistics (the mean over frames) of MFCC, Mel, chroma, or their
# concatenation, or the raw signal (Table 4 "Raw signal": ``raw_fixed``, 48000 samples).
VECTOR_AUDIO_INPUT = InputDecl(
    "audio", "vector", default="mfcc39_mean", paper_dim=39,
    description="utterance-level vector (mean over frames of MFCC / Mel / chroma, or a "
                "fixed-length waveform), read as a 1-channel sequence along its feature axis")
# Sec. III-B: "The MFCCs were extracted from the speech signal and used as the acoustic features".
AUDIO_INPUT = InputDecl("audio", "sequence", default="mfcc39", paper_dim=39,
                        description="frame-level MFCCs (39: 13 MFCC + deltas + delta-deltas)")
# Sec. III-B: "the BERT pre-trained model was used to compute the lexical feature vectors";
# BERT-base token embeddings (768), precomputed with BERT frozen (Sec. V-D).
TEXT_INPUT = InputDecl("text", "sequence", default="bert_tokens", paper_dim=768,
                       description="BERT-base token embeddings of the transcript (768)")
# Sec. III-D: "we replaced the text modality with melspectrograms generated from the speech
# signals using librosa 0.9.0" (librosa's default power Mel, 128 bands).
MEL_INPUT = InputDecl("mel", "sequence", default="mel", paper_dim=128,
                      description="librosa power Mel spectrogram (128 bands)")

PAPER_NUM_CLASSES = 4  # Sec. III: happy, sad, angry and neutral
# The paper does not say which multi-stream model Sec. V-D's 5,585,159 counts: the multi-stream
# datasets (Sec. III-D, Table 3) use 7 emotions (RAVDESS, SAVEE, TESS) or 6 (CREMA). Seven rests
# on a parity argument (derived, not stated): the reported trainable count, 5,582,855, is odd,
# and in our reading every layer but the head is even-sized, so the head (513 x C) needs an odd
# C; 7 is the odd class count Table 3 offers.
MULTISTREAM_NUM_CLASSES = 7


# These family recipes are the registry entries' ``training`` defaults, used by ad-hoc runs
# (``ser-train --model X``). The paper-table experiments set their own recipe, within Table 2's
# ranges, and override these: experiments/kakuba2023/table4.yaml (Adam 1e-3, batch 32, 100
# epochs, selection accuracy, patience 20), table5.yaml (Adam 4e-4, batch 32, 50 epochs,
# accuracy, patience 15), table7.yaml (Adam 4e-4, batch 64, 100 epochs, accuracy, patience 20).
# The ad-hoc values below stay as they are: each is inside Table 2's ranges (selection and
# patience are not in Table 2).
def training_recipe(learning_rate: float) -> dict[str, Any]:
    """The Table 2 recipe, in the shape of ``ser_keras.config.TrainingConfig``."""
    return {
        "optimizer": {"name": "adam"},            # Table 2: Adam (Keras defaults otherwise)
        "learning_rate": learning_rate,           # Table 2: 4e-4 - 1e-3 (each family says which)
        "schedule": {"name": "none"},             # paper is silent: a constant rate
        # Sec. III: "class weights as functions of the smallest class": n_min / n_c
        "loss": {"name": "cross_entropy", "class_weights": "smallest"},
        "epochs": 100,                            # Table 2: 50 - 100; the upper end
        "batch_size": 32,                         # Table 2: 32 & 64; the smaller (memory)
        # paper is silent on model selection; UA (balanced accuracy) is its first metric
        "selection_metric": "balanced_accuracy",
        "patience": 20,                           # paper is silent: stop 20 epochs after the best
    }


# Dense / conv / recurrent models without attention blocks: Adam at the top of the range
# (Keras' default rate, 1e-3). Transformer models (TED, DBMER): the bottom of the range
# (4e-4), since Adam on transformer blocks without warm-up is steadier at a smaller rate.
TRAINING_RECURRENT = training_recipe(1e-3)
TRAINING_TRANSFORMER = training_recipe(4e-4)


# --------------------------------------------------------------------------------------------
# Config checks (each raises ConfigError naming ``family.field``)
# --------------------------------------------------------------------------------------------
def check_positive(family: str, config, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if value is None or value < 1:
            raise ConfigError(f"{family}.{name}: must be >= 1, got {value!r}")


def check_widths(family: str, config, *names: str, allow_empty: bool = True) -> None:
    for name in names:
        widths = tuple(getattr(config, name))
        if (not widths and not allow_empty) or any(w < 1 for w in widths):
            need = "a non-empty list of" if not allow_empty else "a list of"
            raise ConfigError(f"{family}.{name}: expected {need} widths >= 1, got "
                              f"{list(widths)}")


def check_rate(family: str, config, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not 0 <= value < 1:
            raise ConfigError(f"{family}.{name}: must be in [0, 1), got {value}")


def check_non_negative(family: str, config, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if value < 0:
            raise ConfigError(f"{family}.{name}: must be >= 0, got {value}")


def check_choice(family: str, config, name: str, choices) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise ConfigError(f"{family}.{name}: {value!r} not in {list(choices)}")


def check_activation(family: str, config, name: str) -> None:
    try:
        keras.activations.get(getattr(config, name))
    except ValueError:
        raise ConfigError(f"{family}.{name}: {getattr(config, name)!r} is not a Keras "
                          "activation") from None


# --------------------------------------------------------------------------------------------
# Masked building blocks (functional-graph helpers)
# --------------------------------------------------------------------------------------------
def l2(value: float):
    """Table 2's kernel regularizer (None at 0)."""
    return keras.regularizers.L2(value) if value else None


def zero_padded(x, valid):
    """``x`` ``(batch, T, dim)`` with padded steps (``valid`` False) set to zero."""
    return x * ops.cast(valid, x.dtype)[:, :, None]


def bilstm(units: int, return_sequences: bool, name: str) -> keras.layers.Bidirectional:
    """``Bidirectional(LSTM(units))``, tanh (Sec. III-B), Glorot uniform (Keras' default and
    Table 2's), concatenated directions (Keras' default merge)."""
    # The backward layer is built here, not by Bidirectional: left to itself, Bidirectional
    # makes it by serialising the forward LSTM and deserialising it, and inside
    # keras.saving.load_model (an object-sharing scope keyed by id()) a reused id can hand
    # back another object, failing now and then with "Forward layer and backward layer should
    # have different `go_backwards` value" (seen in CI on the .keras round trip).
    return keras.layers.Bidirectional(
        keras.layers.LSTM(units, return_sequences=return_sequences, name=f"{name}_forward"),
        backward_layer=keras.layers.LSTM(units, return_sequences=return_sequences,
                                         go_backwards=True, name=f"{name}_backward"),
        name=name)


__all__ = ["AUDIO_INPUT", "MEL_INPUT", "MULTISTREAM_NUM_CLASSES", "PAPER", "PAPER_NUM_CLASSES",
           "TEXT_INPUT", "TRAINING_RECURRENT", "TRAINING_TRANSFORMER", "VECTOR_AUDIO_INPUT",
           "bilstm", "check_activation", "check_choice", "check_non_negative",
           "check_positive", "check_rate", "check_widths", "l2", "training_recipe",
           "zero_padded"]

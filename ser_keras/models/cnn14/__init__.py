"""triantafyllopoulos2022 ("Multistage linguistic conditioning of convolutional layers for
speech emotion recognition"): PANNs' CNN14 and its two text fusions, one builder.

    cnn14_model.py  cnn14, sfcnn14, mfcnn14    Sec. 3, Eq. 1-5, Fig. 1; recipe Sec. 4.2

Parameter counts at the paper's dims: ``ser-models cnn14`` (compared with PANNs' Cnn14).
"""
from ser_keras.models.cnn14.cnn14_model import (
    AUDIO_INPUT,
    CHANNELS,
    CNN14,
    CNN14_PAPER_PARAMS,
    FUSIONS,
    MFCNN14_DEFAULTS,
    PAPER,
    PAPER_NUM_CLASSES,
    SFCNN14_DEFAULTS,
    TEXT_INPUT,
    TRAINING,
    ChannelBias,
    CNN14Config,
    MaskedMeanMaxPooling,
    PoolTimeMask,
    TimeMaskedBatchNormalization,
    build_cnn14,
    scaled,
)

__all__ = ["AUDIO_INPUT", "CHANNELS", "CNN14", "CNN14Config", "CNN14_PAPER_PARAMS",
           "ChannelBias", "FUSIONS", "MFCNN14_DEFAULTS", "MaskedMeanMaxPooling", "PAPER",
           "PAPER_NUM_CLASSES", "PoolTimeMask", "SFCNN14_DEFAULTS", "TEXT_INPUT",
           "TRAINING", "TimeMaskedBatchNormalization", "build_cnn14", "scaled"]

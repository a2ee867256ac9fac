"""MMFA-RNN (ho2020) and its unimodal baselines: ``mmfa_model.py`` has the network, its config,
its declared inputs and the paper's training recipe."""
from ser_keras.models.mmfa.mmfa_model import (
    AUDIO_INPUT,
    MMFARNN,
    MODALITIES,
    PAPER_NUM_CLASSES,
    TEXT_INPUT,
    TRAINING,
    MMFAConfig,
    build_mmfa,
    gru_units,
)

__all__ = ["AUDIO_INPUT", "MMFAConfig", "MMFARNN", "MODALITIES", "PAPER_NUM_CLASSES",
           "TEXT_INPUT", "TRAINING", "build_mmfa", "gru_units"]

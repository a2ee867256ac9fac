"""The generic MLP baseline on one utterance-level feature vector: ``mlp_model.py`` has the
network, its config, its declared input and its training recipe."""
from ser_keras.models.mlp.mlp_model import (
    AUDIO_INPUT,
    MLP,
    PAPER_NUM_CLASSES,
    TRAINING,
    MLPConfig,
    build_mlp,
)

__all__ = ["AUDIO_INPUT", "MLP", "MLPConfig", "PAPER_NUM_CLASSES", "TRAINING", "build_mlp"]

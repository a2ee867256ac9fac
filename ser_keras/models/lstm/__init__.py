"""LSTM + two fully connected layers (alqurashi2024's speech and text models): ``lstm_model.py``
has the network, its config, its declared inputs and its training recipe."""
from ser_keras.models.lstm.lstm_model import (
    PAPER,
    PAPER_NUM_CLASSES,
    SPEECH_INPUT,
    TEXT_INPUT,
    TRAINING,
    LSTMConfig,
    build_lstm,
)

__all__ = ["LSTMConfig", "PAPER", "PAPER_NUM_CLASSES", "SPEECH_INPUT", "TEXT_INPUT", "TRAINING",
           "build_lstm"]

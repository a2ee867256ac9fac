"""kakuba2023 (DBMER and the bimodal deep-learning study, IEEE Access 2023): four families,
one builder each.

    feature_cnn.py  feature-cnn                               Sec. III-A, Fig. 2, Table 4
    bilstm.py       bilstm-audio, bilstm-text, bilstm-bimodal Sec. III-B, Tables 5, 6
    ted.py          ted, ted-bilstm                           Sec. III-B, Tables 5, 6
    dbmer.py        dbmer, dbmer-multistream                  Sec. III-C/D, Tables 5-8

``common.py`` has the declared inputs and the Table 2 recipe, ``layers.py`` the time-axis
concatenation the fusions share. Parameter counts at the paper's dims: ``ser-models NAME``;
how DBMER's silent widths were chosen from Sec. V-D's counts:
``benchmarks/kakuba_param_search.py``.
"""
from ser_keras.models.kakuba.bilstm import (
    BIMODAL_DEFAULTS,
    BiLSTMConfig,
    BiLSTMNet,
    build_bilstm,
)
from ser_keras.models.kakuba.common import (
    AUDIO_INPUT,
    MEL_INPUT,
    MULTISTREAM_NUM_CLASSES,
    PAPER,
    PAPER_NUM_CLASSES,
    TEXT_INPUT,
    TRAINING_RECURRENT,
    TRAINING_TRANSFORMER,
    VECTOR_AUDIO_INPUT,
)
from ser_keras.models.kakuba.dbmer import (
    DBMER,
    DBMER_PAPER_PARAMS,
    MULTISTREAM_DEFAULTS,
    MULTISTREAM_PAPER_PARAMS,
    DBMERConfig,
    build_dbmer,
)
from ser_keras.models.kakuba.feature_cnn import FeatureCNN, FeatureCNNConfig, build_feature_cnn
from ser_keras.models.kakuba.layers import PackedTimeConcat
from ser_keras.models.kakuba.ted import TED_BILSTM_DEFAULTS, TEDConfig, TEDNet, build_ted

__all__ = ["AUDIO_INPUT", "BIMODAL_DEFAULTS", "DBMER_PAPER_PARAMS", "MULTISTREAM_PAPER_PARAMS", "BiLSTMConfig", "BiLSTMNet", "DBMER",
           "DBMERConfig", "FeatureCNN", "FeatureCNNConfig", "MEL_INPUT", "MULTISTREAM_DEFAULTS",
           "MULTISTREAM_NUM_CLASSES", "PAPER", "PAPER_NUM_CLASSES", "PackedTimeConcat",
           "TEDConfig", "TEDNet", "TED_BILSTM_DEFAULTS", "TEXT_INPUT", "TRAINING_RECURRENT",
           "TRAINING_TRANSFORMER", "VECTOR_AUDIO_INPUT", "build_bilstm", "build_dbmer",
           "build_feature_cnn", "build_ted"]

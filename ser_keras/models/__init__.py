"""The model zoo: every model by name, built from an input spec and a config.

    from ser_keras import models
    models.available()                         # registered names
    entry = models.get_entry("mmfa")           # .inputs .input_names .training .paper ...
    model = models.build_model("mmfa", input_spec, config)   # uncompiled keras.Model
    models.paper_spec("mmfa")                  # the input spec at the paper's dims

``input_spec`` is ``{"inputs": {"audio": {"rank": "sequence", "dim": 39}, "text": {"rank":
"sequence", "dim": 768}}, "num_classes": 4}`` (``ser_keras.data.input.input_spec``), or with
``"num_outputs": T, "output": "values"`` for regression; ``config`` None, a dict of overrides or
the entry's config dataclass. The registry is filled here, by explicit entries;
``registry.py`` has the rules. Layers and models use ``keras.layers`` / ``keras.ops`` only: the
zoo runs on any Keras backend. Listing: ``ser-models``; one model's size: ``ser-models NAME``.
"""
from ser_keras.models import bert, cnn14, kakuba, lstm, mlp, mmfa, wav2vec2
from ser_keras.models.heads import output_layer
from ser_keras.models.registry import (
    RANKS,
    DuplicateModelError,
    InputDecl,
    InputSpec,
    ModelConfig,
    ModelEntry,
    Registry,
    UnknownModelError,
    input_tensor_names,
)

REGISTRY = Registry()

# ho2020 (MMFA-RNN): one builder, three sets of inputs (Tables 3, 4, 6).
REGISTRY.add(ModelEntry(
    name="mmfa", builder=mmfa.build_mmfa, config_class=mmfa.MMFAConfig,
    inputs=(mmfa.AUDIO_INPUT, mmfa.TEXT_INPUT), paper="ho2020", training=mmfa.TRAINING,
    paper_num_classes=mmfa.PAPER_NUM_CLASSES,
    description="MMFA-RNN: GRU + self-attention per modality, multi-head fusion attention"))
REGISTRY.add(ModelEntry(
    name="mmfa-audio", builder=mmfa.build_mmfa, config_class=mmfa.MMFAConfig,
    inputs=(mmfa.AUDIO_INPUT,), paper="ho2020", training=mmfa.TRAINING,
    paper_num_classes=mmfa.PAPER_NUM_CLASSES,
    description="MMFA-RNN audio branch alone: GRU + self-attention, GAP, FC head"))
REGISTRY.add(ModelEntry(
    name="mmfa-text", builder=mmfa.build_mmfa, config_class=mmfa.MMFAConfig,
    inputs=(mmfa.TEXT_INPUT,), paper="ho2020", training=mmfa.TRAINING,
    paper_num_classes=mmfa.PAPER_NUM_CLASSES,
    description="MMFA-RNN text branch alone: GRU + self-attention, GAP, FC head"))

# kakuba2023 (DBMER study): four families, one builder each (Sec. III-A to III-D).
REGISTRY.add(ModelEntry(
    name="feature-cnn", builder=kakuba.build_feature_cnn, config_class=kakuba.FeatureCNNConfig,
    inputs=(kakuba.VECTOR_AUDIO_INPUT,), paper=kakuba.PAPER, training=kakuba.TRAINING_RECURRENT,
    paper_num_classes=kakuba.PAPER_NUM_CLASSES,
    description="Fig. 2: 4 x Conv1D (ELU, pooling) on a feature vector, self-attention, "
                "BiLSTM(64), Dense"))
REGISTRY.add(ModelEntry(
    name="bilstm-audio", builder=kakuba.build_bilstm, config_class=kakuba.BiLSTMConfig,
    inputs=(kakuba.AUDIO_INPUT,), paper=kakuba.PAPER, training=kakuba.TRAINING_RECURRENT,
    paper_num_classes=kakuba.PAPER_NUM_CLASSES,
    description="2 x BiLSTM(128) + LayerNorm + dropout, 2 Dense, on MFCC frames"))
REGISTRY.add(ModelEntry(
    name="bilstm-text", builder=kakuba.build_bilstm, config_class=kakuba.BiLSTMConfig,
    inputs=(kakuba.TEXT_INPUT,), paper=kakuba.PAPER, training=kakuba.TRAINING_RECURRENT,
    paper_num_classes=kakuba.PAPER_NUM_CLASSES,
    description="2 x BiLSTM(128) + LayerNorm + dropout, 2 Dense, on BERT token embeddings"))
REGISTRY.add(ModelEntry(
    name="bilstm-bimodal", builder=kakuba.build_bilstm, config_class=kakuba.BiLSTMConfig,
    inputs=(kakuba.AUDIO_INPUT, kakuba.TEXT_INPUT), paper=kakuba.PAPER,
    defaults=kakuba.BIMODAL_DEFAULTS, training=kakuba.TRAINING_RECURRENT,
    paper_num_classes=kakuba.PAPER_NUM_CLASSES,
    description="BiLSTM(256) branches, multi-level intermediate fusion into a BiLSTM GFLB"))
REGISTRY.add(ModelEntry(
    name="ted", builder=kakuba.build_ted, config_class=kakuba.TEDConfig,
    inputs=(kakuba.AUDIO_INPUT, kakuba.TEXT_INPUT), paper=kakuba.PAPER,
    training=kakuba.TRAINING_TRANSFORMER, paper_num_classes=kakuba.PAPER_NUM_CLASSES,
    description="transformer-encoder branches (conv on audio, positions on text), "
                "single-level fusion, encoder GFLB"))
REGISTRY.add(ModelEntry(
    name="ted-bilstm", builder=kakuba.build_ted, config_class=kakuba.TEDConfig,
    inputs=(kakuba.AUDIO_INPUT, kakuba.TEXT_INPUT), paper=kakuba.PAPER,
    defaults=kakuba.TED_BILSTM_DEFAULTS, training=kakuba.TRAINING_TRANSFORMER,
    paper_num_classes=kakuba.PAPER_NUM_CLASSES,
    description="transformer-encoder branches, single-level fusion, BiLSTM(256) GFLB"))
REGISTRY.add(ModelEntry(
    name="dbmer", builder=kakuba.build_dbmer, config_class=kakuba.DBMERConfig,
    inputs=(kakuba.AUDIO_INPUT, kakuba.TEXT_INPUT), paper=kakuba.PAPER,
    training=kakuba.TRAINING_TRANSFORMER, paper_num_classes=kakuba.PAPER_NUM_CLASSES,
    paper_params=kakuba.DBMER_PAPER_PARAMS,
    description="DBMER: CNN + transformer and BiLSTM + self-attention per modality, "
                "two-level fusion (MFCC + BERT)"))
REGISTRY.add(ModelEntry(
    name="dbmer-multistream", builder=kakuba.build_dbmer, config_class=kakuba.DBMERConfig,
    inputs=(kakuba.AUDIO_INPUT, kakuba.MEL_INPUT), paper=kakuba.PAPER,
    defaults=kakuba.MULTISTREAM_DEFAULTS,  # no lexical positional encoding on the Mel stream
    training=kakuba.TRAINING_TRANSFORMER, paper_num_classes=kakuba.MULTISTREAM_NUM_CLASSES,
    paper_params=kakuba.MULTISTREAM_PAPER_PARAMS,
    description="multi-stream DBMER: the text branch replaced by a Mel-spectrogram stream"))

# triantafyllopoulos2022 (CNN14 and its linguistic conditioning): one builder, the fusion a
# config field (Sec. 3, Eq. 1-5, Fig. 1); counts compared with PANNs' Cnn14.
REGISTRY.add(ModelEntry(
    name="cnn14", builder=cnn14.build_cnn14, config_class=cnn14.CNN14Config,
    inputs=(cnn14.AUDIO_INPUT,), paper=cnn14.PAPER, training=cnn14.TRAINING,
    paper_num_classes=cnn14.PAPER_NUM_CLASSES, paper_params=cnn14.CNN14_PAPER_PARAMS,
    description="PANNs CNN14 from scratch: 6 x (2 x conv3x3-BN-ReLU, 2x2 max pool) on "
                "log-Mel, mean+max pooling, 2 linear layers"))
REGISTRY.add(ModelEntry(
    name="sfcnn14", builder=cnn14.build_cnn14, config_class=cnn14.CNN14Config,
    inputs=(cnn14.AUDIO_INPUT, cnn14.TEXT_INPUT), paper=cnn14.PAPER,
    defaults=cnn14.SFCNN14_DEFAULTS, training=cnn14.TRAINING,
    paper_num_classes=cnn14.PAPER_NUM_CLASSES,
    description="SFCNN14: CNN14 + projected mean BERT embedding added after mean+max "
                "pooling (single-stage fusion)"))
REGISTRY.add(ModelEntry(
    name="mfcnn14", builder=cnn14.build_cnn14, config_class=cnn14.CNN14Config,
    inputs=(cnn14.AUDIO_INPUT, cnn14.TEXT_INPUT), paper=cnn14.PAPER,
    defaults=cnn14.MFCNN14_DEFAULTS, training=cnn14.TRAINING,
    paper_num_classes=cnn14.PAPER_NUM_CLASSES,
    description="MFCNN14: CNN14 with a projected mean BERT embedding as a per-channel bias "
                "after every block (multistage fusion)"))

# triantafyllopoulos2022: the fine-tuned BERT baseline (Sec. 4.2).
REGISTRY.add(ModelEntry(
    name="bert-finetune", builder=bert.build_bert_finetune,
    config_class=bert.BertFinetuneConfig, inputs=(bert.TEXT_INPUT,), paper=bert.PAPER,
    training=bert.TRAINING, paper_num_classes=bert.PAPER_NUM_CLASSES,
    description="bert-base-uncased fine-tuned end to end: dropout + final linear layer "
                "on the pooled [CLS] output"))

# alqurashi2024 (hierarchical classification with text): LSTM + 2 FC speech and text models
# (Sec. II-B 1, II-C), the stages of the ``hierarchical`` task.
REGISTRY.add(ModelEntry(
    name="lstm-speech", builder=lstm.build_lstm, config_class=lstm.LSTMConfig,
    inputs=(lstm.SPEECH_INPUT,), paper=lstm.PAPER, training=lstm.TRAINING,
    paper_num_classes=lstm.PAPER_NUM_CLASSES,
    description="LSTM + 2 Dense on the utterance vector MFCC-39 mean + prosody8 + GeMAPS"))
REGISTRY.add(ModelEntry(
    name="lstm-text", builder=lstm.build_lstm, config_class=lstm.LSTMConfig,
    inputs=(lstm.TEXT_INPUT,), paper=lstm.PAPER, training=lstm.TRAINING,
    paper_num_classes=lstm.PAPER_NUM_CLASSES,
    description="LSTM + 2 Dense on BERT token embeddings"))

# alqurashi2024: wav2vec 2.0 base fine-tuned with its CNN feature encoder frozen (Sec. II-B 2),
# and the same from the ASR-fine-tuned base-960h (Sec. II-B 3): one builder, two checkpoints.
REGISTRY.add(ModelEntry(
    name="w2v2", builder=wav2vec2.build_wav2vec2_classifier,
    config_class=wav2vec2.Wav2Vec2ClassifierConfig, inputs=(wav2vec2.AUDIO_INPUT,),
    paper=wav2vec2.PAPER, defaults=wav2vec2.W2V2_DEFAULTS, training=wav2vec2.TRAINING,
    paper_num_classes=wav2vec2.PAPER_NUM_CLASSES,
    description="wav2vec 2.0 base (LibriSpeech 960 h), feature encoder frozen, projector + "
                "masked mean pooling + linear head, on the raw waveform"))
REGISTRY.add(ModelEntry(
    name="w2v2-asr", builder=wav2vec2.build_wav2vec2_classifier,
    config_class=wav2vec2.Wav2Vec2ClassifierConfig, inputs=(wav2vec2.AUDIO_INPUT,),
    paper=wav2vec2.PAPER, defaults=wav2vec2.W2V2_ASR_DEFAULTS, training=wav2vec2.TRAINING,
    paper_num_classes=wav2vec2.PAPER_NUM_CLASSES,
    description="the same from wav2vec2-base-960h (ASR fine-tuned)"))

# Generic baselines (no paper).
REGISTRY.add(ModelEntry(
    name="mlp", builder=mlp.build_mlp, config_class=mlp.MLPConfig,
    inputs=(mlp.AUDIO_INPUT,), paper="generic", training=mlp.TRAINING,
    paper_num_classes=mlp.PAPER_NUM_CLASSES,
    description="MLP on one utterance-level vector: BatchNorm, Dense-BN-ReLU-Dropout x2"))

available = REGISTRY.available
get_entry = REGISTRY.get_entry
build_model = REGISTRY.build_model
paper_spec = REGISTRY.paper_spec

__all__ = [
    "DuplicateModelError",
    "InputDecl",
    "InputSpec",
    "ModelConfig",
    "ModelEntry",
    "RANKS",
    "REGISTRY",
    "Registry",
    "UnknownModelError",
    "available",
    "build_model",
    "get_entry",
    "input_tensor_names",
    "output_layer",
    "paper_spec",
]

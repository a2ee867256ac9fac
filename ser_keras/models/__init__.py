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
from ser_keras.models import mlp, mmfa
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

"""The model zoo: every model by name, built from an input spec and a config.

    from ser_keras import models
    models.available()                         # registered names
    models.get_entry("mmfa")                   # .name .builder .config_class .modalities .paper
    model = models.build_model("mmfa", input_spec, config)   # uncompiled keras.Model

``input_spec`` is ``{"inputs": {"audio": {"dim": 39}, "text": {"dim": 768}}, "num_classes": 4}``
(``ser_keras.data.input.input_spec``); ``config`` None, a dict of overrides or the entry's config
dataclass. The registry is filled here, by explicit entries; ``registry.py`` has the rules.
Layers and models use ``keras.layers`` / ``keras.ops`` only: the zoo runs on any Keras backend.
"""
from ser_keras.models import mmfa
from ser_keras.models.registry import (
    DuplicateModelError,
    InputSpec,
    ModelConfig,
    ModelEntry,
    Registry,
    UnknownModelError,
)

REGISTRY = Registry()

# ho2020 (MMFA-RNN): one builder, three modality sets (Tables 3, 4, 6).
REGISTRY.add(ModelEntry(
    name="mmfa", builder=mmfa.build_mmfa, config_class=mmfa.MMFAConfig,
    modalities=("audio", "text"), paper="ho2020",
    description="MMFA-RNN: GRU + self-attention per modality, multi-head fusion attention"))
REGISTRY.add(ModelEntry(
    name="mmfa-audio", builder=mmfa.build_mmfa, config_class=mmfa.MMFAConfig,
    modalities=("audio",), paper="ho2020",
    description="MMFA-RNN audio branch alone: GRU + self-attention, GAP, FC head"))
REGISTRY.add(ModelEntry(
    name="mmfa-text", builder=mmfa.build_mmfa, config_class=mmfa.MMFAConfig,
    modalities=("text",), paper="ho2020",
    description="MMFA-RNN text branch alone: GRU + self-attention, GAP, FC head"))

available = REGISTRY.available
get_entry = REGISTRY.get_entry
build_model = REGISTRY.build_model

__all__ = [
    "DuplicateModelError",
    "InputSpec",
    "ModelConfig",
    "ModelEntry",
    "REGISTRY",
    "Registry",
    "UnknownModelError",
    "available",
    "build_model",
    "get_entry",
]

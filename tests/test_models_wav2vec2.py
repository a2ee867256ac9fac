"""alqurashi2024's wav2vec 2.0 models (w2v2, w2v2-asr): the Keras backbone against transformers'
PyTorch Wav2Vec2Model, checkpoint loading and its errors, and the classifier.

    .venv/bin/python -m pytest -q tests/test_models_wav2vec2.py

Tiny random networks only (hidden 16, 2 layers, 3 convs); the transformers comparisons skip
where torch / transformers are not installed.
"""
from __future__ import annotations

import json
import sys

import keras
import numpy as np
import pytest

from model_checks import run_model_checks
from model_checks import numpy_of as _np
from model_checks import param_counts as _counts
from ser_keras import models
from ser_keras.errors import ConfigError
from ser_keras.models import wav2vec2
from ser_keras.models.wav2vec2 import layers as w2v2_layers
from ser_keras.models.wav2vec2 import weights as w2v2_weights

# post-LN with GroupNorm on conv 0 (base-like), an even positional kernel (one frame dropped)
TINY = {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 32, "conv_dim": [8, 8, 8], "conv_kernel": [10, 3, 2],
        "conv_stride": [5, 2, 2], "num_conv_pos_embeddings": 8,
        "num_conv_pos_embedding_groups": 2, "classifier_proj_size": 6,
        "hidden_dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0,
        "feat_proj_dropout": 0.0, "layerdrop": 0.0}
# pre-LN with a LayerNorm after every conv (large-like), conv biases, an odd kernel
TINY_STABLE = {**TINY, "do_stable_layer_norm": True, "feat_extract_norm": "layer",
               "conv_bias": True, "num_conv_pos_embeddings": 5}
RECEPTIVE_FIELD, HOP = 30, 20   # samples of one frame of TINY's encoder, samples per frame
SPEC = {"inputs": {"audio": {"rank": "sequence", "dim": 1}}, "num_classes": 3}
VALUES_SPEC = {"inputs": {"audio": {"rank": "sequence", "dim": 1}}, "num_outputs": 2,
               "output": "values"}
# raw samples per utterance: shorter than one frame (2), one frame (30, 39), several. Not 1:
# one sample normalises to silence (all zeros), whose gradient every LayerNorm scales by
# 1 / sqrt(eps) (the model's docstring; prepare drops silent audio).
LENGTHS = (1600, 2, 900, 39, 30, 1300, 250, 700)
RANDOM_INIT = {"checkpoint": None, "config": TINY}
ATOL = 1e-5


def make_registry() -> models.Registry:
    """The two entries as ``ser_keras/models/__init__.py`` registers them."""
    registry = models.Registry()
    registry.add(models.ModelEntry(
        name="w2v2", builder=wav2vec2.build_wav2vec2_classifier,
        config_class=wav2vec2.Wav2Vec2ClassifierConfig, inputs=(wav2vec2.AUDIO_INPUT,),
        paper=wav2vec2.PAPER, defaults=wav2vec2.W2V2_DEFAULTS, training=wav2vec2.TRAINING,
        paper_num_classes=wav2vec2.PAPER_NUM_CLASSES,
        description="wav2vec 2.0 base (LibriSpeech 960 h) fine-tuned on raw audio, CNN "
                    "encoder frozen: masked mean, projector(256), linear head"))
    registry.add(models.ModelEntry(
        name="w2v2-asr", builder=wav2vec2.build_wav2vec2_classifier,
        config_class=wav2vec2.Wav2Vec2ClassifierConfig, inputs=(wav2vec2.AUDIO_INPUT,),
        paper=wav2vec2.PAPER, defaults=wav2vec2.W2V2_ASR_DEFAULTS,
        training=wav2vec2.TRAINING, paper_num_classes=wav2vec2.PAPER_NUM_CLASSES,
        description="wav2vec 2.0 base-960h (ASR fine-tuned) fine-tuned on raw audio, CNN "
                    "encoder frozen: masked mean, projector(256), linear head"))
    return registry


REGISTRY = make_registry()


def waves(lengths, seed=0) -> list[np.ndarray]:
    """Utterances of different loudness and offset (normalisation has work to do)."""
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=n) * (0.1 + 0.3 * i) + 0.05 * i).astype("float32")
            for i, n in enumerate(lengths)]


def padded(utterances, extra=0):
    """Model inputs of right-padded utterances: audio (batch, S, 1), audio_mask (batch, S)."""
    longest = max(len(u) for u in utterances) + extra
    audio = np.zeros((len(utterances), longest, 1), "float32")
    mask = np.zeros((len(utterances), longest), "float32")
    for i, u in enumerate(utterances):
        audio[i, :len(u), 0] = u
        mask[i, :len(u)] = 1
    return {"audio": audio, "audio_mask": mask}


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """A random tiny backbone saved as a Hugging Face directory by the package itself."""
    keras.utils.set_random_seed(1)
    backbone = wav2vec2.Wav2Vec2Backbone(TINY)
    return backbone, wav2vec2.save_checkpoint(backbone, tmp_path / "tiny")


# --------------------------------------------------------------------------------------------
# (a) The backbone against transformers' PyTorch Wav2Vec2Model
# --------------------------------------------------------------------------------------------
def _hf_config(values):
    transformers = pytest.importorskip("transformers")
    return transformers.Wav2Vec2Config(**values)


def _perturbed(model):
    """Random weights everywhere (norm gains and biases too), so no mapping hides behind
    the ones/zeros of a fresh init."""
    import torch

    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    return model.eval()


def _hf_inputs(utterances):
    """transformers' own preprocessing: normalised per utterance, padded, with the mask."""
    transformers = pytest.importorskip("transformers")
    extractor = transformers.Wav2Vec2FeatureExtractor(do_normalize=True,
                                                      return_attention_mask=True)
    return extractor, extractor(utterances, padding=True, sampling_rate=16000,
                                return_tensors="pt")


@pytest.mark.parametrize("arch", [TINY, TINY_STABLE], ids=["group-post-ln", "layer-pre-ln"])
def test_hidden_states_match_transformers(arch, tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    # build: a random transformers model saved as safetensors, loaded by the package
    hf = _perturbed(transformers.Wav2Vec2Model(_hf_config(arch)))
    hf.save_pretrained(tmp_path)
    utterances = waves([1600, 1000])
    extractor, batch = _hf_inputs(utterances)
    extractor.save_pretrained(tmp_path)
    ours = wav2vec2.load_backbone(str(tmp_path))

    # act: ours on the padded raw audio; transformers padded with its mask and each alone
    encoded = ours(padded(utterances))
    with torch.no_grad():
        reference = hf(batch.input_values, attention_mask=batch.attention_mask,
                       output_hidden_states=True)
        alone = [hf(extractor([u], sampling_rate=16000, return_tensors="pt").input_values,
                    output_hidden_states=True) for u in utterances]

    # assertions: the frame mask, every hidden state of every real frame, the counts
    frame_mask = _np(encoded["frame_mask"])
    expected_mask = hf._get_feature_vector_attention_mask(
        reference.last_hidden_state.shape[1], batch.attention_mask).numpy()
    np.testing.assert_array_equal(frame_mask.astype(bool), expected_mask)
    assert len(encoded["hidden_states"]) == len(reference.hidden_states) == 3
    worst = 0.0
    ours_all = [*encoded["hidden_states"], encoded["last_hidden_state"]]
    for k, ours_k in enumerate(ours_all):
        for i in range(len(utterances)):
            frames = int(frame_mask[i].sum())
            got = _np(ours_k)[i, :frames]
            solo = (alone[i].hidden_states + (alone[i].last_hidden_state,))[k][0].numpy()
            worst = max(worst, np.abs(got - solo).max())
            if arch.get("feat_extract_norm") == "layer":
                # no statistic spans frames: transformers' padded batch is padding-free too
                batched = (reference.hidden_states + (reference.last_hidden_state,))[k]
                worst = max(worst, np.abs(got - batched[i, :frames].numpy()).max())
    norm = arch.get("feat_extract_norm", "group")
    print(f"wav2vec2 {norm}: max |ours - transformers| = {worst:.2e}")  # shown with -s
    assert worst < 1e-4
    hf_params = sum(p.numel() for name, p in hf.named_parameters()
                    if name != "masked_spec_embed")
    assert ours.count_params() == hf_params


def test_transformers_group_norm_batch_depends_on_padding_but_ours_does_not(tmp_path):
    """Why the first GroupNorm is masked: transformers' statistics include the padding."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    hf = _perturbed(transformers.Wav2Vec2Model(_hf_config(TINY)))
    hf.save_pretrained(tmp_path)
    utterances = waves([1600, 1000])
    extractor, batch = _hf_inputs(utterances)
    ours = wav2vec2.load_backbone(str(tmp_path))

    with torch.no_grad():
        batched = hf(batch.input_values, attention_mask=batch.attention_mask).last_hidden_state
        solo = hf(extractor([utterances[1]], sampling_rate=16000,
                            return_tensors="pt").input_values).last_hidden_state
    got = _np(ours(padded(utterances))["last_hidden_state"])[1, :solo.shape[1]]

    assert np.abs(batched[1, :solo.shape[1]].numpy() - solo[0].numpy()).max() > 1e-2
    np.testing.assert_allclose(got, solo[0].numpy(), atol=1e-4)


@pytest.mark.parametrize("task", ["Wav2Vec2ForCTC", "Wav2Vec2ForPreTraining"])
def test_task_checkpoints_with_the_wav2vec2_prefix_load(task, tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    # build: a task model (lm_head / quantizer, project_q, project_hid beside the prefix)
    hf = _perturbed(getattr(transformers, task)(_hf_config({**TINY, "vocab_size": 7})))
    hf.save_pretrained(tmp_path)
    names = w2v2_weights.read_state_dict(tmp_path / "model.safetensors")
    assert all(n.startswith("wav2vec2.") for n in names if "lm_head" not in n
               and "quantizer" not in n and "project_" not in n)
    (utterance,) = waves([1200])

    # act
    ours = wav2vec2.load_backbone(str(tmp_path))
    got = _np(ours(padded([utterance]))["last_hidden_state"])
    _, batch = _hf_inputs([utterance])
    with torch.no_grad():
        expected = hf.wav2vec2(batch.input_values).last_hidden_state.numpy()

    # assertions
    print(f"{task}: max |ours - transformers| = {np.abs(got - expected).max():.2e}")
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_pytorch_model_bin_with_old_weight_norm_names(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    # build: the same model as model.safetensors and as pytorch_model.bin written with the
    # old weight-norm names (weight_g / weight_v)
    hf = _perturbed(transformers.Wav2Vec2Model(_hf_config(TINY)))
    hf.save_pretrained(tmp_path / "safetensors")
    state = {name.replace("parametrizations.weight.original0", "weight_g")
                 .replace("parametrizations.weight.original1", "weight_v"): tensor
             for name, tensor in hf.state_dict().items()}
    assert "encoder.pos_conv_embed.conv.weight_g" in state
    (tmp_path / "bin").mkdir()
    torch.save(state, tmp_path / "bin" / "pytorch_model.bin")
    (tmp_path / "bin" / "config.json").write_text(hf.config.to_json_string())

    # act
    from_bin = wav2vec2.load_backbone(str(tmp_path / "bin"))
    from_safetensors = wav2vec2.load_backbone(str(tmp_path / "safetensors"))

    # assertions: the same variables
    for a, b in zip(from_bin.weights, from_safetensors.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_positional_conv_without_weight_norm_loads(tiny_checkpoint, tmp_path):
    # build: the checkpoint with weight norm removed (a plain conv.weight = g v / ||v||)
    backbone, directory = tiny_checkpoint
    state = w2v2_weights.read_state_dict(directory / "model.safetensors")
    name = "encoder.pos_conv_embed.conv"
    v = state.pop(f"{name}.parametrizations.weight.original1")
    g = state.pop(f"{name}.parametrizations.weight.original0")
    state[f"{name}.weight"] = g * v / np.sqrt(np.sum(v ** 2, axis=(0, 1), keepdims=True))
    loaded = wav2vec2.Wav2Vec2Backbone(TINY)

    # act
    w2v2_weights.load_state_dict(loaded, state, where="plain")

    # assertions
    inputs = padded(waves([900]))
    np.testing.assert_allclose(_np(loaded(inputs)["last_hidden_state"]),
                               _np(backbone(inputs)["last_hidden_state"]), atol=1e-5)


def test_export_and_load_round_trip(tiny_checkpoint):
    backbone, directory = tiny_checkpoint
    loaded = wav2vec2.load_backbone(str(directory))
    for a, b in zip(backbone.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert json.loads((directory / "config.json").read_text())["hidden_size"] == 16


# --------------------------------------------------------------------------------------------
# (b) Loading errors
# --------------------------------------------------------------------------------------------
def _rewrite(directory, state):
    from safetensors.numpy import save_file

    save_file(state, str(directory / "model.safetensors"))


def test_missing_config_json_is_named(tiny_checkpoint):
    _, directory = tiny_checkpoint
    (directory / "config.json").unlink()
    with pytest.raises(ConfigError, match=r"no config\.json"):
        wav2vec2.load_backbone(str(directory))


def test_missing_weight_file_is_named(tiny_checkpoint):
    _, directory = tiny_checkpoint
    (directory / "model.safetensors").unlink()
    with pytest.raises(ConfigError, match=r"no weight file \(looked for model\.safetensors, "
                                          r"pytorch_model\.bin\)"):
        wav2vec2.load_backbone(str(directory))


def test_wrongly_shaped_tensor_is_named_with_both_shapes(tiny_checkpoint):
    _, directory = tiny_checkpoint
    state = w2v2_weights.read_state_dict(directory / "model.safetensors")
    state["encoder.layers.1.attention.q_proj.weight"] = np.zeros((16, 8), "float32")
    _rewrite(directory, state)
    with pytest.raises(ConfigError, match=r"tensor encoder\.layers\.1\.attention\.q_proj\."
                                          r"weight has shape \[16, 8\], but config\.json's "
                                          r"architecture needs \[16, 16\]"):
        wav2vec2.load_backbone(str(directory))


def test_missing_and_unexpected_tensors_are_named(tiny_checkpoint):
    _, directory = tiny_checkpoint
    state = w2v2_weights.read_state_dict(directory / "model.safetensors")
    _rewrite(directory, {n: v for n, v in state.items()
                         if n != "feature_projection.projection.bias"})
    with pytest.raises(ConfigError, match=r"missing tensor\(s\) feature_projection\."
                                          r"projection\.bias"):
        wav2vec2.load_backbone(str(directory))
    # more layers than config.json says: refused, not silently dropped
    _rewrite(directory, state)
    with pytest.raises(ConfigError, match=r"encoder\.layers\.1\.attention\.k_proj\.bias.* "
                                          r"not part of the wav2vec 2\.0 backbone"):
        wav2vec2.load_backbone(str(directory), overrides={"num_hidden_layers": 1})


def test_ignored_heads_and_masked_spec_embed(tiny_checkpoint):
    _, directory = tiny_checkpoint
    state = w2v2_weights.read_state_dict(directory / "model.safetensors")
    state = {f"wav2vec2.{n}": v for n, v in state.items()}
    state.update({"wav2vec2.masked_spec_embed": np.zeros(16, "float32"),
                  "quantizer.codevectors": np.zeros((1, 4, 8), "float32"),
                  "lm_head.weight": np.zeros((5, 16), "float32")})
    _rewrite(directory, state)
    wav2vec2.load_backbone(str(directory))  # no error


def test_other_architectures_and_rates_are_refused(tiny_checkpoint):
    _, directory = tiny_checkpoint
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "model_type": "hubert"}))
    with pytest.raises(ConfigError, match=r"model_type 'hubert' is not 'wav2vec2'"):
        wav2vec2.load_backbone(str(directory))
    (directory / "config.json").write_text(json.dumps(config))
    preprocessor = json.loads((directory / "preprocessor_config.json").read_text())
    (directory / "preprocessor_config.json").write_text(
        json.dumps({**preprocessor, "sampling_rate": 8000}))
    with pytest.raises(ConfigError, match=r"sampling_rate 8000"):
        wav2vec2.load_backbone(str(directory))


def test_pytorch_model_bin_without_torch_says_torch_is_needed(tiny_checkpoint, monkeypatch):
    _, directory = tiny_checkpoint
    (directory / "model.safetensors").rename(directory / "pytorch_model.bin")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(ConfigError, match=r"pytorch_model\.bin: reading pytorch_model\.bin "
                                          r"needs torch"):
        wav2vec2.load_backbone(str(directory))


def test_hub_checkpoint_offline_is_one_line(monkeypatch):
    hub = pytest.importorskip("huggingface_hub")

    def offline(*args, **kwargs):
        raise hub.errors.LocalEntryNotFoundError(
            "An error happened while trying to locate the files on the Hub,\nand we cannot "
            "find the appropriate snapshot folder")

    monkeypatch.setattr(hub, "snapshot_download", offline)
    with pytest.raises(ConfigError) as err:
        wav2vec2.load_backbone("hf://facebook/wav2vec2-base")
    message = str(err.value)
    assert "\n" not in message
    assert "cannot fetch 'facebook/wav2vec2-base' from the Hugging Face hub" in message
    assert "offline, give a local directory" in message


def test_hub_checkpoint_without_huggingface_hub(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(ConfigError, match=r"hf:// needs huggingface_hub"):
        wav2vec2.load_backbone("hf://facebook/wav2vec2-base")


def test_not_a_directory(tmp_path):
    with pytest.raises(ConfigError, match=r"no such directory"):
        wav2vec2.load_backbone(str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match=r"no such directory"):
        REGISTRY.get_entry("w2v2").resolve_config({"checkpoint": str(tmp_path / "absent")})


# --------------------------------------------------------------------------------------------
# (c) The classifier
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["w2v2", "w2v2-asr"])
def test_classifier_passes_shared_model_checks(name, tmp_path):
    run_model_checks(name, SPEC, RANDOM_INIT, tmp_path, lengths=LENGTHS, registry=REGISTRY)


def test_classifier_regresses_when_the_spec_asks_for_values(tmp_path):
    model = run_model_checks("w2v2", VALUES_SPEC, {"checkpoint": None, "config": TINY_STABLE},
                             tmp_path, lengths=LENGTHS, registry=REGISTRY)
    assert model.get_layer("predictions").activation is keras.activations.linear


def _step(model, utterances):
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss="sparse_categorical_crossentropy", jit_compile=False)
    model.train_on_batch(padded(utterances), np.arange(len(utterances)) % 3)


@pytest.mark.parametrize("freeze", [True, False])
def test_feature_encoder_frozen_while_the_transformer_trains(freeze):
    # build
    model = REGISTRY.build_model("w2v2", SPEC, {**RANDOM_INIT,
                                                "freeze_feature_encoder": freeze})
    encoder = model.backbone.feature_encoder
    encoder_before = [w.numpy().copy() for w in encoder.weights]
    rest = [w for w in model.backbone.weights if all(w is not e for e in encoder.weights)]
    rest_before = [w.numpy().copy() for w in rest]

    # act: one Adam step
    _step(model, waves([1600, 900, 400]))

    # assertions
    assert (len(encoder.trainable_weights) == 0) == freeze
    unchanged = [np.array_equal(b, w.numpy()) for b, w in zip(encoder_before, encoder.weights)]
    assert all(unchanged) if freeze else not any(unchanged)
    assert not any(np.array_equal(b, w.numpy()) for b, w in zip(rest_before, rest))


def test_padding_never_changes_a_prediction_in_training_or_inference():
    # build: dropout 0 (the tiny config), so training mode is deterministic
    model = REGISTRY.build_model("w2v2", SPEC, RANDOM_INIT)
    utterances = waves(LENGTHS)

    for training in (False, True):
        # act
        batch = _np(model(padded(utterances, extra=77), training=training))
        alone = np.concatenate([_np(model(padded([u]), training=training))
                                for u in utterances])

        # assertions
        np.testing.assert_allclose(batch, alone, atol=ATOL)


def test_keras_round_trip_keeps_the_encoder_frozen(tmp_path):
    model = REGISTRY.build_model("w2v2", SPEC, RANDOM_INIT)
    inputs = padded(waves([1600, 300]))
    model.save(tmp_path / "w2v2.keras")

    loaded = keras.saving.load_model(tmp_path / "w2v2.keras")

    assert isinstance(loaded, wav2vec2.Wav2Vec2Classifier)
    assert not loaded.backbone.feature_encoder.trainable
    assert len(loaded.trainable_weights) == len(model.trainable_weights)
    np.testing.assert_allclose(_np(loaded(inputs)), _np(model(inputs)), atol=1e-6)


def test_every_custom_layer_round_trips_its_config():
    model = REGISTRY.build_model("w2v2", SPEC, {"checkpoint": None, "config": TINY_STABLE})
    layers = [*model.backbone.layers, *model.backbone.encoder_layers[0]._layers]
    custom = [layer for layer in layers
              if keras.saving.get_registered_name(type(layer)).startswith("ser_keras>")]
    assert {type(layer).__name__ for layer in custom} >= {
        "AudioNormalization", "Wav2Vec2FeatureEncoder", "FrameMasking",
        "PositionalConvEmbedding", "Wav2Vec2EncoderLayer", "Wav2Vec2Attention"}
    for layer in custom:
        again = type(layer).from_config(layer.get_config())
        assert again.get_config() == layer.get_config(), layer.name
    norm = w2v2_layers.MaskedGroupNormalization(epsilon=1e-3)  # in the group-norm config
    assert type(norm).from_config(norm.get_config()).get_config() == norm.get_config()


def test_builder_loads_the_checkpoint_and_its_normalisation(tiny_checkpoint):
    # build: the checkpoint says do_normalize false
    backbone, directory = tiny_checkpoint
    preprocessor = json.loads((directory / "preprocessor_config.json").read_text())
    (directory / "preprocessor_config.json").write_text(
        json.dumps({**preprocessor, "do_normalize": False}))

    # act
    model = REGISTRY.build_model("w2v2", SPEC, {"checkpoint": str(directory)})
    renormalised = REGISTRY.build_model("w2v2", SPEC, {"checkpoint": str(directory),
                                                       "normalize": True})

    # assertions: the checkpoint's weights (not the random init), its normalisation
    for a, b in zip(backbone.weights, model.backbone.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert model.normalize is False and renormalised.normalize is True
    assert model.get_layer("projector").units == 6  # the checkpoint's classifier_proj_size
    assert not model.backbone.feature_encoder.trainable


def test_overrides_over_a_checkpoint(tiny_checkpoint):
    _, directory = tiny_checkpoint
    # dropout fields replace the checkpoint's values; architecture keys are checked over it
    model = REGISTRY.build_model("w2v2", SPEC, {"checkpoint": str(directory),
                                                "hidden_dropout": 0.2, "layerdrop": 0.05})
    assert (model.backbone.architecture.hidden_dropout,
            model.backbone.architecture.layerdrop) == (0.2, 0.05)
    assert model.backbone.encoder_layers[0].dropout.rate == 0.2
    with pytest.raises(ConfigError, match=r"tiny config\.json: hidden_size 16 is not a "
                                          r"multiple of num_attention_heads 3"):
        REGISTRY.build_model("w2v2", SPEC, {"checkpoint": str(directory),
                                            "config": {"num_attention_heads": 3}})


def test_pooled_layer_selects_the_hidden_states():
    model = REGISTRY.build_model("w2v2", SPEC, {**RANDOM_INIT, "pooled_layer": 0})
    inputs = padded(waves([1600, 500]))
    pooled = keras.Model(model.inputs, model.get_layer("mean_pooling").output)

    encoded = model.backbone(inputs)
    mask = _np(encoded["frame_mask"])[:, :, None]
    first = _np(encoded["hidden_states"][0])

    np.testing.assert_allclose(_np(pooled(inputs)), (first * mask).sum(1) / mask.sum(1),
                               atol=1e-5)


def test_config_errors_name_the_field():
    entry = REGISTRY.get_entry("w2v2")
    with pytest.raises(ConfigError, match=r"wav2vec2\.config: unknown key\(s\) "
                                          r"\['mask_time_prob'\]"):
        entry.resolve_config({"config": {"mask_time_prob": 0.1}})
    with pytest.raises(ConfigError, match=r"hidden_dropout: a number in \[0, 1\) or null"):
        entry.resolve_config({"hidden_dropout": 1.5})
    with pytest.raises(ConfigError, match=r"classifier_dropout"):
        entry.resolve_config({"classifier_dropout": -0.1})
    with pytest.raises(ConfigError, match=r"pooled_layer: 3 is not a hidden-states index of "
                                          r"a 2-layer model \(-3 \.\. 2\)"):
        REGISTRY.build_model("w2v2", SPEC, {**RANDOM_INIT, "pooled_layer": 3})
    with pytest.raises(ConfigError, match=r"must be the raw waveform \(dim 1"):
        REGISTRY.build_model("w2v2", {"inputs": {"audio": {"rank": "sequence", "dim": 39}},
                                      "num_classes": 2}, RANDOM_INIT)
    with pytest.raises(ConfigError, match=r"hidden_size 16 is not a multiple of "
                                          r"num_attention_heads 3"):
        entry.resolve_config({**RANDOM_INIT, "config": {**TINY, "num_attention_heads": 3}})


def test_entries_defaults_recipe_and_paper_spec():
    # the paper's checkpoints (Sec. II-B 2, 3), the frozen encoder, raw audio
    w2v2, asr = (REGISTRY.get_entry(n).resolve_config() for n in ("w2v2", "w2v2-asr"))
    assert w2v2.checkpoint == "hf://facebook/wav2vec2-base"
    assert asr.checkpoint == "hf://facebook/wav2vec2-base-960h"
    assert w2v2.freeze_feature_encoder and w2v2.pooled_layer == -1
    recipe = REGISTRY.get_entry("w2v2").training_config()
    assert recipe.optimizer.name == "adam" and recipe.loss.name == "cross_entropy"
    assert REGISTRY.paper_spec("w2v2") == {"inputs": {"audio": {"rank": "sequence", "dim": 1}},
                                           "num_classes": 4}
    assert wav2vec2.AUDIO_INPUT.feeds == ("raw",)


def test_base_architecture_and_parameter_counts():
    """The default architecture is wav2vec2-base's: transformers' Wav2Vec2Model has 94,371,712
    parameters, 768 of them masked_spec_embed (not built), 4,200,448 in the feature encoder."""
    # build: the base architecture, random init, the paper's 4 classes
    arch = wav2vec2.Wav2Vec2Config()
    model = REGISTRY.build_model("w2v2", REGISTRY.paper_spec("w2v2"), {"checkpoint": None})

    # assertions
    assert (arch.receptive_field, arch.hop) == (400, 320)        # 25 ms windows, 20 ms hop
    assert wav2vec2.Wav2Vec2Config.from_hf(arch.to_hf()) == arch
    assert model.backbone.count_params() == 94_371_712 - 768
    assert _counts(model) == (94_568_836, 94_568_836 - 4_200_448, 4_200_448)


def test_short_utterances_make_one_frame():
    arch = wav2vec2.Wav2Vec2Config.from_hf(TINY)
    assert (arch.receptive_field, arch.hop) == (RECEPTIVE_FIELD, HOP)
    backbone = wav2vec2.Wav2Vec2Backbone(TINY)
    two = backbone(padded(waves([RECEPTIVE_FIELD + HOP - 1, RECEPTIVE_FIELD + HOP])))
    assert _np(two["frame_mask"]).sum(axis=1).tolist() == [1.0, 2.0]
    for length in (1, 2, RECEPTIVE_FIELD - 1, RECEPTIVE_FIELD):
        encoded = backbone(padded(waves([length])))
        assert _np(encoded["frame_mask"]).tolist() == [[1.0]]
        assert np.isfinite(_np(encoded["last_hidden_state"])).all()

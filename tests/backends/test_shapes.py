"""Shape-faithful @random models: name resolution, shapes, building, forced output length, dtype/device."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slm_energy_plugin.errors import ConfigError, SlmEnergyError
from slm_energy_plugin.roles.measurer import check_devices
from slm_energy_plugin.backends.registry import load_registry, resolve_model, select_models
from slm_energy_plugin.backends.transformers_runtime import check_device, load_model
from slm_energy_plugin.backends.shapes import SEED, build_config, hub_shape
from slm_energy_plugin.settings import build_settings

# Parameter counts of the real models (their public config.json files; facts.md: ~124 M, ~2.78 B, ~1.78 B).
REAL_SHAPES = {
    "gpt2@random": ("GPT2LMHeadModel", 124_439_808, 12),
    "phi2@random": ("PhiForCausalLM", 2_779_683_840, 32),
    "deepseek-r1-1.5b@random": ("Qwen2ForCausalLM", 1_777_088_000, 28),
}
SMALL_GPT2 = {"model_type": "gpt2", "vocab_size": 2048, "n_positions": 64, "n_embd": 32, "n_layer": 2, "n_head": 2}


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def test_random_aliases_resolve_to_the_registry_model_with_random_weights(registry) -> None:
    spec = resolve_model("gpt2@random", registry, Path.cwd())
    assert (spec.alias, spec.source, spec.weights) == ("gpt2@random", "random", "random")
    assert spec.model_id == "openai-community/gpt2@random"
    assert spec.prompt_template == registry.specs["gpt2"].prompt_template     # prompted like the real one
    assert spec.shape_config is not None and spec.shape_config.name == "openai-community--gpt2.json"
    assert "public config.json figures" in spec.shape_origin
    deepseek = resolve_model("deepseek-r1-1.5b@random", registry, Path.cwd())
    assert deepseek.prompt_style == "chat" and deepseek.reasoning is False     # no thinking to count
    assert deepseek.dtype == "bfloat16" and deepseek.max_new_tokens == 512


@pytest.mark.parametrize("alias", sorted(REAL_SHAPES))
def test_shipped_shapes_have_the_real_models_parameter_counts(registry, alias: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    config = build_config(resolve_model(alias, registry, Path.cwd()))
    with torch.device("meta"):   # the full-size shape, no memory
        model = AutoModelForCausalLM.from_config(config)
    cls, params, layers = REAL_SHAPES[alias]
    assert type(model).__name__ == cls
    assert sum(p.numel() for p in model.parameters()) == params
    assert config.num_hidden_layers == layers


def test_config_json_paths_and_folders_with_random(tmp_path: Path, registry) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(SMALL_GPT2))
    by_file = resolve_model(f"{folder / 'config.json'}@random", registry, tmp_path)
    by_folder = resolve_model("my-model@random", registry, tmp_path)
    assert by_file.source == by_folder.source == "random"
    assert by_file.shape_config == by_folder.shape_config == (folder / "config.json").resolve()
    assert by_folder.alias == "my-model@random"


@pytest.mark.parametrize(("name", "message"), [
    ("@random", "name a model before @random"),
    ("nobody-has/this-model@random", "no shape for nobody-has/this-model@random"),
    ("not a model@random", "before @random put a registry alias"),
    ("missing.json@random", "does not exist"),
])
def test_bad_random_names_are_one_line_errors(registry, tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_model(name, registry, tmp_path)


def test_a_config_without_model_type_is_refused(registry, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"n_layer": 2}))
    with pytest.raises(ConfigError, match="has no model_type"):
        resolve_model("bad.json@random", registry, tmp_path)


def test_the_hub_cache_config_wins_over_the_shipped_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          registry) -> None:
    from huggingface_hub import constants

    snapshot = tmp_path / "models--openai-community--gpt2" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps(SMALL_GPT2))
    (tmp_path / "models--openai-community--gpt2" / "refs").mkdir()
    (tmp_path / "models--openai-community--gpt2" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    path, origin = hub_shape("openai-community/gpt2")
    assert path == snapshot / "config.json" and "Hugging Face cache" in origin
    spec = resolve_model("gpt2@random", registry, Path.cwd())
    assert build_config(spec).n_layer == 2


def test_built_models_are_deterministic_and_generate_exactly_max_new_tokens(registry, tiny_cache: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setenv("SLM_ENERGY_CACHE_DIR", str(tiny_cache))
    [spec] = select_models(("tiny-qwen2@random",), registry, Path.cwd(), 7)
    first, second = load_model(spec, None), load_model(spec, None)
    for a, b in zip(first.model.parameters(), second.model.parameters()):
        assert torch.equal(a, b)
    generation = first.generate("What is 7 + 5?", 7)
    assert generation.tokens_output == 7 and not generation.hit_eos
    assert generation.ttft_s and generation.decode_s and generation.decode_tokens_per_s
    info = first.info({})
    assert info.weights == "random" and info.model_id == "slm-energy/tiny-qwen2@random"
    assert any("random weights: cost only" in note for note in info.notes)
    assert any(str(SEED) in note for note in info.notes)
    # Untied embeddings are only indexed while decoding: not counted as bytes read per token.
    embed = first.model.get_input_embeddings().weight
    assert first.decode_bytes_per_token == first.weight_bytes - embed.numel() * embed.element_size()


def test_stand_in_tokenizer_and_tied_gpt2_bytes(registry, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(SMALL_GPT2))
    spec = resolve_model(f"{tmp_path / 'config.json'}@random", registry, tmp_path)
    loaded = load_model(spec, None)
    assert any("stand-in tokenizer" in note for note in loaded.notes)
    generation = loaded.generate("What is 7 + 5?", 5)
    assert generation.tokens_output == 5 and generation.tokens_input == loaded.prompt_tokens("What is 7 + 5?")
    # GPT-2 ties the token table to the output head (read every token); only positions are skipped.
    assert loaded.decode_bytes_per_token == loaded.weight_bytes - 64 * 32 * 4


def test_dtype_and_device_options(registry, tiny_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLM_ENERGY_CACHE_DIR", str(tiny_cache))
    settings = build_settings({"energy_dtype": "float16,tiny-gpt2@random=bfloat16", "energy_device": "cpu",
                               "energy_models": "tiny-gpt2@random,tiny-phi"}, {}, Path.cwd())
    from slm_energy_plugin.roles.measurer import selected_specs

    gpt2, phi = selected_specs(settings)
    assert (gpt2.dtype, phi.dtype, gpt2.device) == ("bfloat16", "float16", "cpu")
    loaded = load_model(gpt2, None)
    assert str(loaded.model.dtype) == "torch.bfloat16" and loaded.info({}).dtype == "bfloat16"
    assert loaded.generate("2 + 2?", 3).tokens_output == 3
    with pytest.raises(ConfigError, match="--energy-dtype='float8'"):
        build_settings({"energy_dtype": "float8"}, {}, Path.cwd())
    with pytest.raises(ConfigError, match="'gpt2' is not one of the selected models"):
        select_models(("tiny-gpt2",), registry, Path.cwd(), dtypes=(("gpt2", "bfloat16"),))


def test_an_unavailable_device_is_one_line(registry) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        check_device("cuda", "float32")
    [spec] = select_models(("tiny-gpt2",), registry, Path.cwd(), devices=((None, "cuda"),))
    with pytest.raises(SlmEnergyError, match="^tiny-gpt2: device cuda requested"):
        check_devices([spec])
    check_device("cpu", "bfloat16")   # supported here: no error

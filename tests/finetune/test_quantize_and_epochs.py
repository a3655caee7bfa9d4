"""`finetune --quantize 4bit|8bit` (QLoRA) is refused in one line without CUDA; epochs are reported as fractions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.finetune.quantize import check_quantize, quantization_info

from .conftest import small_training_file


@pytest.mark.parametrize("mode", ["4bit", "8bit"])
def test_quantize_without_cuda_is_one_line_before_anything_loads(mode: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the refusal is for machines without it")
    out = tmp_path / "adapter"
    code = main(["finetune", "tiny-gpt2", "--quantize", mode, "--max-steps", "1", "--output", str(out),
                 "--meter", "null", "--offline"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"--quantize {mode} (QLoRA) needs a CUDA GPU" in err and "drop --quantize" in err
    assert not out.exists()


def test_quantize_with_cuda_but_no_bitsandbytes_says_what_to_install() -> None:
    with pytest.raises(ConfigError, match=r"pip install 'slm-energy-plugin\[qlora\]'"):
        check_quantize("4bit", cuda_available=lambda: True, has_bitsandbytes=lambda: False)
    check_quantize("8bit", cuda_available=lambda: True, has_bitsandbytes=lambda: True)   # accepted
    assert quantization_info("4bit")["quant_type"] == "nf4" and quantization_info("8bit")["bits"] == 8


def test_max_steps_ending_mid_epoch_reports_a_fraction(tiny_env: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # 12 examples, batch 2: 6 steps per epoch; 9 steps = 1.5 epochs (the old report said 2).
    data = small_training_file(tmp_path / "data")
    out = tmp_path / "adapter"
    code = main(["finetune", "tiny-gpt2", "--data", str(data), "--max-steps", "9", "--batch-size", "2",
                 "--rank", "2", "--learning-rate", "0.01", "--output", str(out), "--meter", "null", "--offline",
                 "--threads", "1"])
    printed = capsys.readouterr().out
    assert code == 0 and "9 steps, 1.5 epochs" in printed
    report = json.loads((out / "training.json").read_text())
    assert report["epochs_run"] == 1.5 and report["steps_per_epoch"] == 6
    assert [e["fraction"] for e in report["energy"]["per_epoch"]] == [1.0, 0.5]
    assert report["hyperparameters"]["quantization"] is None

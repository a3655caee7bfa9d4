"""Invented leaderboard tables in the published shapes: the shipped samples and the tests' inputs.

NOT real leaderboard data. The numbers follow plausible power laws (energy per token grows
with size, CPUs cost more than GPUs, float32 more than float16), with seeded noise, so the
analysis has something realistic to fit offline. The shipped files in data/leaderboard/ are
exactly what this writes: ``python -m tests.leaderboard.samples data/leaderboard``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

LLM_PERF_HEADERS = [
    "Experiment 🧪", "Model 🤗", "Prefill (s)", "Per Token (s)", "Decode (tokens/s)", "Energy (tokens/kWh)",
    "Memory (MB)", "Backend 🏭", "Precision 📥", "Quantization 🗜️", "Attention 👁️", "Kernel ⚛️",
    "Architecture 🏛️", "End-to-End (s)", "Open LLM Score (%)", "Params (B)",
]
OPEN_LLM_HEADERS = [
    "eval_name", "Precision", "Type", "T", "Weight type", "Architecture", "Model", "fullname", "Average ⬆️",
    "#Params (B)", "Chat Template", "CO₂ cost (kg)",
]
PRICE_HEADERS = ["Model", "Provider", "Params (B)", "$ per 1K input tokens", "$ per 1K output tokens"]

# hub id, true size (B), architecture, Open LLM score, the largest hardware memory it is run on.
MODELS = [
    ("openai-community/gpt2", 0.124, "gpt2", 6.0),
    ("openai-community/gpt2-large", 0.774, "gpt2", 7.1),
    ("facebook/opt-350m", 0.331, "opt", 5.5),
    ("Qwen/Qwen2.5-0.5B-Instruct", 0.494, "qwen2", 16.0),
    ("TinyLlama/TinyLlama-1.1B-Chat-v1.0", 1.10, "llama", 8.9),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", 1.78, "qwen2", 11.5),
    ("microsoft/phi-2", 2.78, "phi", 15.5),
    ("EleutherAI/pythia-2.8b", 2.78, "gpt_neox", 5.9),
    ("mistralai/Mistral-7B-Instruct-v0.2", 7.24, "mistral", 18.5),
    ("meta-llama/Llama-2-7b-chat-hf", 6.74, "llama", 11.0),
    ("meta-llama/Meta-Llama-3-8B-Instruct", 8.03, "llama", 23.9),
    ("meta-llama/Llama-2-13b-chat-hf", 13.0, "llama", 13.0),
    ("Qwen/Qwen2.5-14B-Instruct", 14.8, "qwen2", 41.3),
    ("01-ai/Yi-34B-Chat", 34.4, "llama", 23.9),
    ("meta-llama/Llama-2-70b-chat-hf", 69.0, "llama", 25.0),
]
# hardware -> (tokens/kWh of a 1 B model, elasticity, board power W, memory GB)
HARDWARE = {
    "A100": (1.3e6, -0.55, 250.0, 80.0),
    "A10": (1.0e6, -0.60, 150.0, 24.0),
    "T4": (0.55e6, -0.65, 70.0, 16.0),
    "32vCPU": (0.22e6, -0.80, 180.0, 128.0),
}
# (backend, precision, quantization, attention, kernel, bytes per parameter, energy factor)
EXPERIMENTS = [
    ("pytorch", "float16", "Unquantized", "SDPA", "Unfused", 2.0, 1.00),
    ("pytorch", "bfloat16", "Unquantized", "Eager", "Unfused", 2.0, 0.95),
    ("pytorch", "float16", "BnB.4bit", "SDPA", "Unfused", 0.6, 0.70),
    ("pytorch", "float16", "AWQ.4bit", "SDPA", "GEMM", 0.6, 1.25),
]
CPU_EXPERIMENTS = [
    ("pytorch", "float32", "Unquantized", "SDPA", "Unfused", 4.0, 1.00),
    ("pytorch", "bfloat16", "Unquantized", "Eager", "Unfused", 2.0, 0.85),
    ("openvino", "float32", "Unquantized", "Unknown", "Unknown", 4.0, 1.40),
]
SAMPLE_FILES = {
    "A100": "llm-perf-A100-sample.csv", "A10": "llm-perf-A10-sample.csv", "T4": "llm-perf-T4-sample.csv",
    "32vCPU": "llm-perf-32vCPU-sample.csv",
}
OPEN_LLM_FILE = "open-llm-leaderboard-contents-sample.parquet"
PRICE_FILE = "price-table-sample.csv"


def published_params(size_b: float) -> float:
    """LLM-Perf shows sizes in whole billions: gpt2 and friends become 0."""
    return float(round(size_b))


def llm_perf_frame(hardware: str, seed: int = 0) -> pd.DataFrame:
    base, elasticity, watts, memory_gb = HARDWARE[hardware]
    rng = np.random.default_rng(list(HARDWARE).index(hardware) + 11 + seed)
    rows = []
    experiments = CPU_EXPERIMENTS if "CPU" in hardware else EXPERIMENTS
    for model, size, arch, score in MODELS:
        model_effect = float(np.exp(rng.normal(0.0, 0.15)))
        for backend, precision, quant, attention, kernel, bytes_per, factor in experiments:
            memory_mb = size * bytes_per * 1e3 + 600.0
            if memory_mb / 1e3 > 0.9 * memory_gb:
                continue  # would not fit: the leaderboard has no row
            energy = base * size ** elasticity * factor * model_effect * float(np.exp(rng.normal(0.0, 0.05)))
            decode = energy * watts / 3.6e6
            per_token = 1.0 / decode
            prefill = 0.002 + 0.004 * size * (4.0 if "CPU" in hardware else 1.0) * float(np.exp(rng.normal(0, 0.1)))
            rows.append({
                "Experiment 🧪": f"{model.split('/')[-1]}-{backend}-{precision}-{quant}".lower(),
                "Model 🤗": model,
                "Prefill (s)": round(prefill, 4),
                "Per Token (s)": round(per_token, 5),
                "Decode (tokens/s)": round(decode, 2),
                "Energy (tokens/kWh)": round(energy, 0),
                "Memory (MB)": round(memory_mb * float(np.exp(rng.normal(0, 0.02))), 0),
                "Backend 🏭": backend,
                "Precision 📥": precision,
                "Quantization 🗜️": quant,
                "Attention 👁️": attention,
                "Kernel ⚛️": kernel,
                "Architecture 🏛️": arch,
                "End-to-End (s)": round(prefill + 64 * per_token, 3),
                "Open LLM Score (%)": score,
                "Params (B)": published_params(size),
            })
    return pd.DataFrame(rows, columns=LLM_PERF_HEADERS)


def open_llm_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for model, size, arch, score in MODELS:
        chat = any(word in model.lower() for word in ("chat", "instruct", "r1-distill"))
        co2 = 0.08 * size ** 0.85 * float(np.exp(rng.normal(0.0, 0.2)))
        name = model.replace("/", "__")
        rows.append({
            "eval_name": f"{name}_bfloat16", "Precision": "bfloat16",
            "Type": "💬 chat models (RLHF, DPO, IFT, ...)" if chat else "🟢 pretrained",
            "T": "💬" if chat else "🟢", "Weight type": "Original", "Architecture": arch.capitalize() + "ForCausalLM",
            "Model": f'<a target="_blank" href="https://huggingface.co/{model}">{model}</a>',
            "fullname": model, "Average ⬆️": score, "#Params (B)": round(size, 3), "Chat Template": chat,
            "CO₂ cost (kg)": round(co2, 4),
        })
    return pd.DataFrame(rows, columns=OPEN_LLM_HEADERS)


def price_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for provider, scale in (("provider-a", 1.0), ("provider-b", 1.3)):
        for model, size, _arch, _score in MODELS:
            if size < 1.0:
                continue  # hosted price lists rarely carry sub-billion models
            price_in = 0.00004 * size ** 0.7 * scale * float(np.exp(rng.normal(0.0, 0.15)))
            rows.append({"Model": model, "Provider": provider, "Params (B)": round(size, 2),
                         "$ per 1K input tokens": round(price_in, 6),
                         "$ per 1K output tokens": round(price_in * 1.6, 6)})
    return pd.DataFrame(rows, columns=PRICE_HEADERS)


SAMPLES_NOTE = """SAMPLES - NOT REAL LEADERBOARD DATA

Every file in this folder is invented: rows written by tests/leaderboard/samples.py in the
shapes of the published files (LLM-Perf leaderboard CSV exports, one per hardware, with their
emoji headers; the Open LLM Leaderboard "contents" Parquet; a price table). The numbers follow
plausible power laws with seeded noise so that `slm-energy leaderboard data/leaderboard/*` has
something to fit offline. Do not cite them. Replace them with the real exports to analyse the
real leaderboards. `slm-energy leaderboard` skips this note with a one-line notice.

Regenerate: .venv/bin/python -m tests.leaderboard.samples data/leaderboard
"""


def write_samples(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for hardware, name in SAMPLE_FILES.items():
        path = directory / name
        llm_perf_frame(hardware).to_csv(path, index=False)
        written.append(path)
    path = directory / OPEN_LLM_FILE
    open_llm_frame().to_parquet(path, index=False)
    written.append(path)
    path = directory / PRICE_FILE
    price_frame().to_csv(path, index=False)
    written.append(path)
    note = directory / "SAMPLES.txt"
    note.write_text(SAMPLES_NOTE, encoding="utf-8")
    written.append(note)
    return written


if __name__ == "__main__":  # pragma: no cover - a maintenance script
    for written_path in write_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "data/leaderboard")):
        print(written_path)

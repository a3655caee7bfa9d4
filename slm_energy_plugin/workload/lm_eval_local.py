"""A local lm-eval task written from documents: JSON lines plus lm-eval's own YAML task file.

For ``--energy-lm-eval-include DIR`` without a hub data set: lm-eval reads the documents through
``datasets``' json loader. The data file is named by its absolute path, because ``datasets`` reads
a relative one from the working directory, not from the task file's folder. YAML is a superset
of JSON, so the task file is written as JSON: no YAML writer is needed, and lm-eval is not imported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

QUESTION_PROMPT = "Question: {{question}}\nAnswer:"   # lm-eval's Jinja template over a document's fields


def local_task_config(name: str, data: Path, *, output_type: str = "multiple_choice",
                      metrics: Sequence[str] = ("acc",), generation: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The task's configuration: documents ``{"question", "choices", "answer": index}`` for
    ``multiple_choice``, ``{"question", "answer": text}`` for ``generate_until``; each metric
    averaged over documents, higher is better."""
    config: dict[str, Any] = {
        "task": name, "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": str(data)}},
        "test_split": "test", "output_type": output_type, "doc_to_text": QUESTION_PROMPT}
    if output_type == "multiple_choice":
        config.update(doc_to_choice="{{choices}}", doc_to_target="answer")
    else:
        config["doc_to_target"] = "{{answer}}"
    if generation:
        config["generation_kwargs"] = dict(generation)
    config["metric_list"] = [{"metric": m, "aggregation": "mean", "higher_is_better": True} for m in metrics]
    return config


def write_local_task(folder: Path, name: str, docs: Sequence[Mapping[str, Any]], **options: Any) -> Path:
    """``folder/name.jsonl`` (the documents) and ``folder/name.yaml`` (the task, see
    :func:`local_task_config` for ``options``); returns ``folder``, the include path."""
    folder.mkdir(parents=True, exist_ok=True)
    data = (folder / f"{name}.jsonl").resolve()
    data.write_text("".join(json.dumps(doc) + "\n" for doc in docs), encoding="utf-8")
    config = local_task_config(name, data, **options)
    (folder / f"{name}.yaml").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return folder

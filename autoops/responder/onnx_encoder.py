"""Query embeddings through ONNX Runtime: the same vectors as sentence-transformers, faster.

A query is one short text, where torch's per-operator overhead dominates: on this project's
2-core machines MiniLM-L6 takes ~26 ms per query in torch and ~16 ms in ONNX Runtime (one thread
each, fp32). The transformer, mean pooling and L2 normalisation are exported once to an ONNX file
in the responder's cache folder; every load re-checks the exported graph against the torch model
on probe texts, so a stale or wrong export is rebuilt rather than trusted. Models whose pooling is
not mean pooling stay on torch. Passages (embedded once per knowledge base) always go through torch.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from pathlib import Path

import numpy as np

EXPORT_VERSION = 1  # bump when the exported graph changes
PROBES = ("java.lang.OutOfMemoryError: Java heap space", "npm ERR! ERESOLVE could not resolve dependency tree",
          "the build failed because the disk of the runner is full")
TOLERANCE = 1e-4  # largest difference per vector component between torch and ONNX Runtime


class OnnxUnavailable(RuntimeError):
    """This model cannot be run through ONNX Runtime here; the message says why."""


def _mean_pooling(model) -> bool:
    pooling = next((m for m in model if type(m).__name__ == "Pooling"), None)
    mode = getattr(pooling, "pooling_mode", None) or (pooling.get_pooling_mode_str() if pooling is not None else None)
    return mode == "mean"  # the attribute is sentence-transformers 5's, the method older releases'



def _export(model, path: Path) -> None:
    import torch

    class Embed(torch.nn.Module):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    sample = model.tokenizer([PROBES[0]], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")  # several processes may export at once
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(Embed(model[0].auto_model).eval(), tuple(sample[n] for n in names), str(tmp), input_names=names,
                          output_names=["embedding"], dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names},
                          opset_version=17, dynamo=False)
    tmp.replace(path)


class OnnxQueryEncoder:
    """``encode(text)``: the normalised embedding of one query, shape ``(1, dim)``."""

    def __init__(self, model, model_name: str, cache_dir: Path, threads: int | None = 1):
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise OnnxUnavailable("onnxruntime is not installed (pip install onnxruntime onnx)") from err
        if not _mean_pooling(model) or "token_type_ids" not in model.tokenizer.model_input_names:
            raise OnnxUnavailable(f"{model_name}: only BERT-style models with mean pooling are exported")
        self.tokenizer, self.max_length = model.tokenizer, model.max_seq_length
        slug = re.sub(r"[^A-Za-z0-9]+", "-", model_name).strip("-")[-60:]
        self.path = cache_dir / f"{slug}-{hashlib.sha256(model_name.encode()).hexdigest()[:8]}-query-v{EXPORT_VERSION}.onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        # idle threads sleep instead of spinning: two spinning threads on a 2-core machine that runs
        # anything else made a query 2x slower; sleeping ones are never slower than one thread
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        expected = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        for attempt in ("cached", "exported"):
            if attempt == "exported" or not self.path.is_file():
                try:
                    _export(model, self.path)
                except Exception as err:  # noqa: BLE001 - any exporter failure means: stay on torch
                    raise OnnxUnavailable(f"{model_name}: ONNX export failed: {err}") from err
            try:
                self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
                difference = np.abs(np.concatenate([self.encode(text) for text in PROBES]) - expected).max()
            except Exception as err:  # noqa: BLE001 - a damaged file: export again, once
                difference = f"unreadable ({type(err).__name__})"
                continue
            if difference <= TOLERANCE:
                return
        raise OnnxUnavailable(f"{model_name}: the ONNX export does not reproduce torch's embeddings (difference {difference})")

    def encode(self, text: str) -> np.ndarray:
        feed = self.tokenizer([text], truncation=True, max_length=self.max_length, return_tensors="np")
        return self.session.run(None, {name: feed[name].astype(np.int64) for name in ("input_ids", "attention_mask", "token_type_ids")})[0]

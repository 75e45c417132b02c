"""The 4-bit Llama decoder (autoops.responder.fastlm) against transformers, on a tiny model built here."""

import logging

import pytest
import torch
from torch.nn import functional as F

from autoops.responder.fastlm import GROUP, Int4Weight, LlamaDecoder


def _q4_1_weight(out: int, inputs: int, generator: torch.Generator) -> torch.Tensor:
    """A weight as a Q4_1 GGUF stores it: per 32 inputs, codes 0..15 (both ends used) times a
    scale plus a minimum."""
    codes = torch.randint(0, 16, (out, inputs // GROUP, GROUP), generator=generator).float()
    codes[..., 0], codes[..., 1] = 0, 15
    scale = (torch.rand(out, inputs // GROUP, 1, generator=generator) * 0.05 + 0.01).half().float()
    minimum = (-8 * scale + torch.randn(out, inputs // GROUP, 1, generator=generator) * 0.01).half().float()
    return (codes * scale + minimum).reshape(out, inputs)


def test_q4_1_codes_are_recovered_exactly_and_multiply_like_the_weight():
    g = torch.Generator().manual_seed(0)
    w = _q4_1_weight(96, 128, g)
    q = Int4Weight(w)
    assert q.max_error <= 1e-6 * float(w.abs().max())
    x = torch.randn(3, 128, generator=g)
    expected = F.linear(x, w)
    got = q(x.to(torch.bfloat16)).float()
    assert got.shape == (3, 96)
    # bfloat16 activations and scales: ~3 significant digits
    assert float((got - expected).abs().max()) <= 0.02 * float(expected.abs().max())


def test_an_arbitrary_weight_is_rounded_to_within_half_a_step():
    w = torch.randn(64, 64, generator=torch.Generator().manual_seed(1))
    groups = w.reshape(64, 2, GROUP)
    half_step = float(((groups.amax(-1) - groups.amin(-1)) / 15 / 2).max())
    q = Int4Weight(w)
    assert 0 < q.max_error <= half_step * 1.0001


@pytest.fixture(scope="module")
def tiny_llama():
    """Two layers, grouped-query attention (4 query heads on 2 key/value heads), Q4_1-shaped weights."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=97, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, rope_theta=10000.0, tie_word_embeddings=True, eos_token_id=1,
    )).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.model.layers.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.copy_(_q4_1_weight(*module.weight.shape, g))
        model.model.embed_tokens.weight.normal_(0, 1.0, generator=g)
    return model


def test_the_decoder_computes_what_transformers_computes(tiny_llama):
    decoder = LlamaDecoder(tiny_llama)
    assert decoder.max_error <= 1e-6
    ids = torch.randint(2, 97, (1, 12), generator=torch.Generator().manual_seed(3))
    prompt = 5
    with torch.inference_mode():
        reference = tiny_llama(input_ids=ids).logits[0, prompt - 1:-1].float()  # float32, every position at once
    got = decoder.teacher_forced_logits(ids, prompt)
    assert got.shape == reference.shape
    # the prompt in float32: transformers' numbers
    torch.testing.assert_close(got[0], reference[0], rtol=1e-4, atol=1e-4)
    scale = float(reference.abs().max())
    assert scale > 1  # logits large enough for the tolerance below to mean something
    # decoding in bfloat16 with 4-bit weights: bfloat16 keeps ~3 digits, so allow 4% of the logits'
    # range (measured: at most 2.5%)
    errors = (got[1:] - reference[1:]).abs().amax(-1)
    assert float(errors.max()) <= 0.04 * scale, errors
    # the control: decoded tokens rotated as if 3 positions later fail the same check by far
    rotary = decoder.rotary
    decoder.rotary = lambda x, positions: rotary(x, torch.where(positions >= prompt, positions + 3, positions))
    try:
        shifted = decoder.teacher_forced_logits(ids, prompt)
    finally:
        decoder.rotary = rotary
    assert float((shifted[1:] - reference[1:]).abs().amax(-1).min()) > 0.1 * scale


def test_generate_stops_at_eos_and_at_the_token_budget(tiny_llama):
    decoder = LlamaDecoder(tiny_llama)
    ids = torch.tensor([[5, 6, 7]])
    out = decoder.generate(ids, max_new_tokens=6)
    assert out.shape == (1, 9) and torch.equal(out[:, :3], ids)
    first = int(out[0, 3])
    stopped = decoder.generate(ids, max_new_tokens=6, eos_ids={first})
    assert stopped.shape == (1, 4) and int(stopped[0, 3]) == first
    # a processor sees the ids so far and the scores, and its choice is taken
    seen = []

    def only_token_9(input_ids, scores):
        seen.append(input_ids.shape[1])
        forced = torch.full_like(scores, -float("inf"))
        forced[:, 9] = 0
        return forced

    forced = decoder.generate(ids, max_new_tokens=3, processors=[only_token_9])
    assert forced[0, 3:].tolist() == [9, 9, 9] and seen == [3, 4, 5]


def test_an_unsupported_model_decodes_through_transformers(tmp_path, caplog):
    from transformers import LlamaConfig, LlamaForCausalLM

    from autoops.responder.llm import TransformersLM

    model = LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=4, num_key_value_heads=2, attention_bias=True))
    assert "biases" in LlamaDecoder.supported(model)
    with caplog.at_level(logging.WARNING):
        lm = TransformersLM(model, tokenizer=None, name="tiny-with-bias", int4=True)
    assert lm.decoder is None and lm.precision == "float32"
    assert "not with 4-bit weights" in caplog.text
    with pytest.raises(ValueError, match="biases"):
        LlamaDecoder(model)

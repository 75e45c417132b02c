"""The language-model loaders, offline: tiny models built here, the real SmolLM2 GGUF file, and a
local OpenAI-compatible server started by the test."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

from autoops.responder.llm import ModelUnavailable, OpenAIChatLM, TransformersLM, smollm2_gguf

WORDS = "the build failed out of memory heap raise xmx runner cache retry test flaky disk full clean docker pull".split()


def _tokenizer(path):
    vocab = {w: i for i, w in enumerate(["<pad>", "</s>", "<unk>", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(path)
    return len(vocab)


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-t5")
    vocab = _tokenizer(path)
    torch.manual_seed(0)
    config = T5Config(vocab_size=vocab, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    T5ForConditionalGeneration(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-llama")
    vocab = _tokenizer(path)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, pad_token_id=0, eos_token_id=1, bos_token_id=1)
    LlamaForCausalLM(config).save_pretrained(path)
    return path


def test_seq2seq_model_from_a_local_folder(tiny_t5):
    lm = TransformersLM.load(tiny_t5)
    assert lm.seq2seq
    a = lm.generate("you fix builds", "the build failed out of memory", max_new_tokens=8)
    b = lm.generate("you fix builds", "the build failed out of memory", max_new_tokens=8)
    assert 0 < a.new_tokens <= 8 and a.seconds > 0
    assert (a.text, a.new_tokens) == (b.text, b.new_tokens)


def test_causal_model_from_a_local_folder(tiny_llama):
    lm = TransformersLM.load(tiny_llama)
    assert not lm.seq2seq
    a = lm.generate("you fix builds", "docker pull failed", max_new_tokens=6)
    b = lm.generate("you fix builds", "docker pull failed", max_new_tokens=6)
    assert a.new_tokens == 6 and a.text == b.text  # greedy decoding is deterministic


def test_a_model_id_that_is_not_here_fails_clearly_offline():
    with pytest.raises(ModelUnavailable, match="offline"):
        TransformersLM.load("google/flan-t5-small-that-is-not-cached")


def test_smollm2_loads_from_the_packaged_gguf_and_caches_the_dequantized_weights(tmp_path):
    gguf = smollm2_gguf()
    assert gguf.suffix == ".gguf"
    first = TransformersLM.smollm2(cache_dir=tmp_path)
    assert list(tmp_path.glob("*/model.safetensors")), "the dequantized weights were not cached"
    second = TransformersLM.smollm2(cache_dir=tmp_path)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.inference_mode():
        torch.testing.assert_close(first.model(ids).logits, second.model(ids).logits)
    answer = second.generate("You are a CI expert.", "The build ran out of Java heap space. What should I do?", max_new_tokens=12)
    assert answer.new_tokens > 0 and answer.text


def test_smollm2_decodes_with_the_gguf_4bit_weights_close_to_float32():
    from autoops.responder.fastlm import compare_with_float32

    lm = TransformersLM.smollm2(int4=True)
    assert lm.precision == "int4"
    assert lm.decoder.max_error <= 1e-6  # the GGUF's Q4_1 codes, recovered exactly
    ids = lm._encode("You are a CI expert.", "The build ran out of Java heap space. What should I do?")["input_ids"]
    close = compare_with_float32(lm.decoder, ids, new_tokens=24)
    # measured on the benchmark prompts: 98-100% of next tokens the same, logits within 3%
    assert close["top1_agreement"] >= 0.9 and close["max_relative_logit_difference"] <= 0.05, close
    answer = lm.generate("You are a CI expert.", "The build ran out of Java heap space. What should I do?", max_new_tokens=12)
    assert answer.new_tokens > 0 and answer.text


class _FakeOpenAI(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _FakeOpenAI.seen.append((self.path, self.headers.get("Authorization"), body))
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            return
        answer = {"choices": [{"message": {"role": "assistant", "content": " Raise -Xmx in gradle.properties. "}}],
                  "usage": {"completion_tokens": 7}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def openai_server():
    server = HTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_openai_compatible_endpoint(openai_server, monkeypatch):
    monkeypatch.setenv("AUTOOPS_TEST_KEY", "sk-test")
    lm = OpenAIChatLM(openai_server, model="smollm2", api_key_env="AUTOOPS_TEST_KEY")
    answer = lm.generate("system words", "user words", max_new_tokens=20)
    assert answer.text == "Raise -Xmx in gradle.properties." and answer.new_tokens == 7
    path, auth, body = _FakeOpenAI.seen[-1]
    assert path == "/v1/chat/completions" and auth == "Bearer sk-test"
    assert body["messages"][1] == {"role": "user", "content": "user words"} and body["max_tokens"] == 20
    with pytest.raises(ModelUnavailable, match="500"):
        OpenAIChatLM(openai_server, model="broken").generate("s", "u")

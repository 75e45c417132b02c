"""LLM generators of the responder: grounded answers, and the fallback when a model fails, is
down or writes something the incidents do not support. Real backends only: an OpenAI-compatible
server started here, a tiny transformers model built here, and the packaged SmolLM2."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from autoops.responder import Responder
from autoops.responder.generators import parse_answer, sentences, supported_share

OOM_LOG = "> Task :app:compileKotlin\njava.lang.OutOfMemoryError: Java heap space\nExpiring Daemon because JVM heap space is exhausted"


@pytest.fixture(scope="module")
def responder():
    return Responder.from_config(generator="extractive", generation_timeout_s=120)


def test_parse_answer_reads_the_requested_format():
    summary, cause, steps = parse_answer(
        "Summary: the Gradle daemon ran out of heap.\nRoot cause: the default heap is 512 MB.\nFix:\n1. Set org.gradle.jvmargs=-Xmx4g.\n2) Use --no-daemon on CI.\n")
    assert summary == "the Gradle daemon ran out of heap." and cause == "the default heap is 512 MB."
    assert steps == ["Set org.gradle.jvmargs=-Xmx4g.", "Use --no-daemon on CI."]
    assert parse_answer("just some words")[2] == []


def test_support_counts_sentences_grounded_in_the_context():
    context = "Raise the Gradle daemon heap with org.gradle.jvmargs in gradle.properties; run --no-daemon on CI runners."
    grounded = sentences("Raise the daemon heap in gradle.properties. Run Gradle with --no-daemon on CI runners.")
    invented = sentences("Reinstall the operating system kernel. Buy faster laptops for everyone.")
    assert supported_share(grounded, context) == 1.0
    assert supported_share(invented, context) == 0.0
    assert supported_share(grounded + invented, context) == 0.5


class _ChatServer(BaseHTTPRequestHandler):
    answer = ""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        data = json.dumps({"choices": [{"message": {"content": _ChatServer.answer}}], "usage": {"completion_tokens": 42}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def chat_server():
    server = HTTPServer(("127.0.0.1", 0), _ChatServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def _with(responder, **settings):
    """The same knowledge base and index, other generator settings."""
    clone = Responder(responder.config.__class__(**{**responder.config.__dict__, **settings}), kb=responder.kb)
    clone.retriever = responder.retriever
    return clone


def test_openai_backend_gives_a_grounded_structured_answer(responder, chat_server):
    best = responder.kb[responder.retrieve(OOM_LOG, k=1)[0].incident_id]
    steps = [step.splitlines()[0] for step in best.fix_steps[:3]]
    _ChatServer.answer = (f"Summary: {best.title}.\nRoot cause: {best.root_cause.split('.')[0]}.\nFix:\n"
                          + "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)))
    s = _with(responder, openai_base_url=chat_server).suggest(OOM_LOG, generator="openai")
    assert s.generator == "openai" and s.fallback_reason is None and not s.declined
    assert s.category == "build_oom" and s.incident_ids[0] == best.id and len(s.fix_steps) == len(steps)


def test_unsupported_answer_falls_back_to_extractive(responder, chat_server):
    _ChatServer.answer = "Summary: reinstall everything.\nFix:\n1. Reinstall the operating system kernel on every laptop.\n2. Buy new monitors."
    s = _with(responder, openai_base_url=chat_server).suggest(OOM_LOG, generator="openai")
    assert s.generator == "extractive" and s.fallback_reason.startswith("unsupported: openai:")
    assert s.details["steps"] == responder.kb[s.incident_ids[0]].fix_steps and len(s.fix_steps) <= 3


def test_a_backend_that_is_down_falls_back_and_says_so(responder):
    s = _with(responder, openai_base_url="http://127.0.0.1:9/v1", generation_timeout_s=3).suggest(OOM_LOG, generator="openai")
    assert s.generator == "extractive" and s.fallback_reason.startswith("error: openai:")


def test_hf_backend_with_a_tiny_local_model(responder, tmp_path):
    """A tiny random causal model writes nonsense: the real path through transformers ends in a fallback."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = "the build failed heap gradle daemon memory raise".split()
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["<pad>", "</s>", "<unk>", *words])}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>").save_pretrained(tmp_path)
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(vocab_size=len(words) + 3, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                 num_attention_heads=4, num_key_value_heads=2, pad_token_id=0, eos_token_id=1)).save_pretrained(tmp_path)
    s = _with(responder, hf_model=str(tmp_path), max_new_tokens=8).suggest(OOM_LOG, generator="hf")
    assert s.generator == "extractive" and s.fallback_reason.startswith("unsupported: hf:")


def test_smollm2_answers_or_falls_back_with_a_reason(responder):
    """The packaged SmolLM2: either a grounded answer or the extractive one with the reason why."""
    r = _with(responder, max_new_tokens=48)
    s = r.suggest(OOM_LOG, generator="smollm2")
    generation = r.generator("smollm2").last_generation
    assert generation is not None and generation.new_tokens > 0
    if s.generator == "smollm2":
        assert s.fix_steps and s.fallback_reason is None
    else:
        assert s.generator == "extractive" and s.fallback_reason.split(":")[0] in ("unsupported", "timeout")
    assert s.category == "build_oom"


def test_unknown_generator_is_a_clear_error(responder):
    from autoops.responder.responder import ConfigError

    with pytest.raises(ConfigError, match="unknown generator 'gpt-17'"):
        responder.suggest(OOM_LOG, generator="gpt-17")


def test_rouge_l_and_keyword_coverage():
    from autoops.responder.evaluation import keyword_coverage, rouge_l

    assert rouge_l("raise the gradle heap", "raise the gradle heap") == 1.0
    assert rouge_l("raise the heap", "lower the disk") == pytest.approx(1 / 3)
    assert rouge_l("", "anything") == 0.0
    text = "Set org.gradle.jvmargs -Xmx4g and run with --no-daemon on a larger runner."
    assert keyword_coverage(text, ["org.gradle.jvmargs -Xmx", "--no-daemon", "larger runner", "NODE_OPTIONS --max-old-space-size"]) == 0.75


def test_eval_rag_with_a_generator_reports_generation_metrics(responder, tmp_path):
    from typer.testing import CliRunner

    from autoops.cli import app

    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c) for c in [
        {"text": OOM_LOG, "category": "build_oom"},
        {"text": "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree", "category": "dependency_version_conflict",
         "fix_note": "Align the peer dependency versions or install with --legacy-peer-deps."},
        {"text": "The sailing club meets on Tuesdays at the harbour.", "category": "flaky_test"},
    ]) + "\n")
    result = CliRunner().invoke(app, ["eval-rag", "--cases", str(cases), "--generator", "extractive", "--json"])
    assert result.exit_code == 0, result.output
    g = json.loads(result.stdout)["generation"]
    assert g["n"] == 3 and g["decline_rate"] == pytest.approx(1 / 3) and g["fallback_rate"] == 0
    assert 0 < g["rouge_l"] <= 1 and g["keyword_coverage"] > 0.3 and g["supported_share"] > 0.9
    assert g["latency_ms_p95"] >= g["latency_ms_p50"] > 0

"""No secret leaves: seven kinds of secret are sent through every endpoint and Alertmanager's
webhook, then looked for in every response, ``GET /answers``, ``/metrics``, the notifications a
local receiver got, the process log (pytest's and a real uvicorn's) and the results folder.

Redaction happens once, where text enters, so nothing downstream has to remember it."""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from autoops import paths
from autoops.agents.controller import Controller, ControllerSettings
from autoops.agents.responder import ResponderAgent
from autoops.api.main import create_controller_app
from autoops.notify import Notifier
from autoops.system.session import free_ports
from tests.conftest import Receiver
from tests.test_notify import eventually

PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAsecretPEMbody0123456789abcdefXYZ\n"
       "Zm9vYmFyc2VjcmV0a2V5bWF0ZXJpYWw=\n-----END RSA PRIVATE KEY-----")
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtdXNlciJ9.c2lnbmF0dXJlU2VjcmV0MTIzNDU2"
# kind -> (the secret as it is written in a log or an alert, a part of it that must never be seen again)
SECRETS = {
    "aws_access_key_id": ("aws_access_key_id=AKIAZ7Q3EXAMPLE4KEY9", "AKIAZ7Q3EXAMPLE4KEY9"),
    "aws_secret_access_key": ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG"),
    "github_token": ("git clone https://ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8@github.com/acme/app",
                     "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
    "slack_webhook": ("posting to https://hooks.slack.com/services/T0SECRET1/B0SECRET2/XxSlackWebhookSecret99",
                      "T0SECRET1/B0SECRET2"),
    "password": ("DB_PASSWORD=Hunter2-Correct-Horse", "Hunter2-Correct-Horse"),
    "private_key": (PEM, "MIIEpAIBAAKCAQEAsecretPEMbody"),
    "jwt": (f"Authorization token {JWT}", "c2lnbmF0dXJlU2VjcmV0MTIzNDU2"),
}
BARE = {  # the secret alone, as a label value or a scenario name would carry it
    "aws_access_key_id": "AKIAZ7Q3EXAMPLE4KEY9", "github_token": "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "slack_webhook": "https://hooks.slack.com/services/T0SECRET1/B0SECRET2/XxSlackWebhookSecret99", "jwt": JWT,
}
LOG = "\n".join([
    "Step 4/9 : RUN npm ci", *(written for written, _ in SECRETS.values()),
    "npm ERR! code ERESOLVE", "npm ERR! ERESOLVE unable to resolve dependency tree",
    "npm ERR! Could not resolve dependency: peer react@\"^17.0.0\" from react-dom@18.2.0", "Error: Process completed with exit code 1.",
])


def alert(fingerprint: str, labels: dict, annotations: dict) -> dict:
    return {"status": "firing", "labels": labels, "annotations": annotations, "fingerprint": fingerprint,
            "startsAt": "2025-01-01T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://127.0.0.1:9090/graph"}


ALERTS = {
    "version": "4", "status": "firing", "receiver": "autoops-controller",
    "groupLabels": {"alertname": "AutoOpsHighBuildFailureRate"}, "commonLabels": {}, "commonAnnotations": {},
    "alerts": [
        # about a scenario's builds: answered from its latest failed build log, the alert's own words stored
        alert("s1", {"alertname": "AutoOpsHighBuildFailureRate", "scenario": "PythonLibrary", "severity": "warning",
                     "password": "Hunter2-Correct-Horse", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
                     "owner": BARE["aws_access_key_id"], "runbook": BARE["slack_webhook"], "jwt": JWT, "token": BARE["github_token"]},
              {"summary": f"builds fail, {SECRETS['password'][0]}", "description": LOG}),
        # answered from its own words; secrets in the name, a label name and a scenario that is none
        alert("s2", {"alertname": BARE["github_token"], "scenario": BARE["aws_access_key_id"], BARE["jwt"]: "x"},
              {"summary": "npm ERR! ERESOLVE unable to resolve dependency tree", "description": LOG, "runbook": PEM}),
        alert("s3", {"alertname": "AutoOpsDependencyErrors"}, {"summary": SECRETS["slack_webhook"][0], "description": LOG}),
    ],
}


def requests_with_secrets() -> list[tuple[str, str, object]]:
    """(method, path, JSON body) for every endpoint, each secret in each free-text field."""
    calls: list[tuple[str, str, object]] = [
        ("POST", "/suggest_fix", {"text": LOG, "generator": "extractive"}),
        ("POST", "/alerts", ALERTS),
    ]
    for written, _ in SECRETS.values():
        calls += [
            ("POST", "/simulate_build", {"scenario": written}),
            ("POST", "/get_best_action", {"scenario": written, "state_index": 0}),
            ("POST", "/suggest_fix", {"text": written, "generator": "extractive"}),
            ("POST", "/suggest_fix", {"text": "npm ERR! ERESOLVE unable to resolve dependency tree", "generator": written}),
            ("POST", "/suggest_fix", {"text": "hello", "generator": written}),  # declined: no generator is loaded
            ("POST", "/run", {"note": written}),
        ]
    for bare in BARE.values():
        calls += [("POST", "/simulate_build", {"scenario": bare, "seed": 1}), ("POST", "/get_best_action", {"scenario": bare})]
    return calls


def bad_requests_with_secrets() -> list[tuple[str, str, str]]:
    """Ordinary bad input carrying secrets, as raw JSON text: NaN, a lone surrogate, a wrong field."""
    surrogate = {"text": LOG + " ERROR \ud800", "generator": "extractive"}
    nan_alert = json.loads(json.dumps(ALERTS))
    nan_alert["alerts"][2]["annotations"]["description"] = LOG + " \ud800"
    nan_alert["alerts"][2]["fingerprint"] = "s4"
    return [
        ("POST", "/suggest_fix", json.dumps(surrogate)),
        ("POST", "/alerts", json.dumps(nan_alert)),
        ("POST", "/suggest_fix", json.dumps({"txt": LOG})),  # the required field missing: the body is the "input"
        ("POST", "/suggest_fix", json.dumps({"text": LOG, "generator": math.nan})),
        ("POST", "/get_best_action", json.dumps({"scenario": SECRETS["password"][0], "observation": [math.nan] * 16})),
        ("POST", "/simulate_build", json.dumps({"scenario": SECRETS["password"][0], "action": math.inf})),
    ]


def assert_no_leak(where: dict[str, str]) -> None:
    """No secret in any of the places (response, /metrics, log, file ...); else which were where."""
    found = {kind: [place for place, text in where.items() if needle in text] for kind, (_, needle) in SECRETS.items()}
    leaked = "\n".join(f"{kind} ({len(places)}): {'; '.join(places)}" for kind, places in found.items() if places)
    assert not leaked, f"secrets leaked:\n{leaked}"


def files_text(folder: Path) -> dict[str, str]:
    return {f"file {p.relative_to(folder)}": p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file()}


def test_the_secrets_really_are_secrets():
    """Each needle is in the text sent, so a test that finds none of them tests something."""
    assert all(needle in written for written, needle in SECRETS.values())
    assert all(needle in LOG for _, needle in SECRETS.values())


TOKEN = "token-of-the-secrets-test"


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A results folder of the test's own, and a token as a real deployment would set one."""
    # the embedding index is a cache of the knowledge base only; rebuilding it would cost a minute
    monkeypatch.setenv("AUTOOPS_CACHE_DIR", str(paths.cache_dir()))
    monkeypatch.setenv("AUTOOPS_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("AUTOOPS_API_TOKEN", TOKEN)
    monkeypatch.delenv("AUTOOPS_NOTIFY_URLS", raising=False)
    (tmp_path / "results").mkdir()
    return tmp_path / "results"


def send_everything(client, receiver: Receiver) -> tuple[dict[str, str], int]:
    """Every request with secrets, then what the service keeps and counts: place -> text seen
    there (a connection the server broke is a place too: its log says why), and how many alerts
    were answered."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    calls = [(m, p, {"json": body, "headers": auth}) for m, p, body in requests_with_secrets()]
    calls += [(m, p, {"content": raw, "headers": {**auth, "Content-Type": "application/json"}}) for m, p, raw in bad_requests_with_secrets()]
    calls += [("GET", "/answers", {}), ("GET", "/status", {}), ("GET", "/metrics", {})]
    seen, answers = {}, None
    for i, (method, path, how) in enumerate(calls):
        try:
            response = client.request(method, path, **how)
        except httpx.HTTPError as err:
            seen[f"{method} {path} #{i} (broken: {type(err).__name__})"] = str(err)
            continue
        seen[f"{method} {path} #{i} ({response.status_code})"] = f"{response.headers}\n{response.text}"
        if path == "/answers" and response.status_code == 200:
            answers = response.json()
    if answers:
        eventually(lambda: len(receiver.requests) >= sum(a["suggestion"] is not None for a in answers))  # sent in the background
    seen |= {f"notification #{i}": r["body"].decode("utf-8", "replace") for i, r in enumerate(receiver.requests)}
    return seen, len(answers or [])


def test_no_secret_leaves_the_in_process_services(shared_dir, results, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    controller = Controller(ControllerSettings(scenario="PythonLibrary", generator="extractive"),
                            responder=ResponderAgent(generator="extractive"))
    app = create_controller_app(controller, notifier=Notifier([f"json://127.0.0.1:{receiver.port}/hook"]))
    with TestClient(app, raise_server_exceptions=False) as client:
        seen, answered = send_everything(client, receiver)
    seen["log"] = caplog.text
    seen |= files_text(results)
    assert_no_leak(seen)
    assert answered >= 3, "the alerts were not answered, so the test proves nothing"


@pytest.mark.timeout(300)
def test_no_secret_reaches_a_real_servers_log(shared_dir, results, receiver, tmp_path):
    """uvicorn logs every unhandled exception with its traceback, and the exception FastAPI raised
    for a body it could not take quoted the whole body: on a 500, the log got it, secrets and all."""
    configs = tmp_path / "configs"
    configs.mkdir()
    text = (paths.default_config_dir() / "responder.yaml").read_text()
    (configs / "responder.yaml").write_text(text.replace("\ngenerator: smollm2", "\ngenerator: extractive"))
    port = free_ports(1)[0]
    env = {**os.environ, "AUTOOPS_CONFIG_DIR": str(configs), "AUTOOPS_GENERATOR": "extractive", "AUTOOPS_SCENARIO": "PythonLibrary",
           "AUTOOPS_NOTIFY_URLS": f"json://127.0.0.1:{receiver.port}/hook", "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "autoops.cli", "serve", "controller", "--port", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        eventually(lambda: _up(url) or server.poll() is not None, timeout_s=120)
        assert server.poll() is None, log.read_text()
        with httpx.Client(base_url=url, timeout=120) as client:
            seen, answered = send_everything(client, receiver)
    finally:
        server.terminate()
        server.wait(timeout=30)
    seen["server log"] = log.read_text(errors="replace")
    seen |= files_text(results)
    assert "Application startup complete" in seen["server log"]
    assert_no_leak(seen)
    assert answered >= 3, "the alerts were not answered, so the test proves nothing"
    assert not [place for place in seen if "(broken" in place], "the server broke a connection: see its log"


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# -- bounded: label values from closed sets, stored answers cut to size ------------------------------

class DecliningResponder:
    """The engine's part of a declined answer, at once: the label is the agent's business."""

    default_generator = "extractive"

    def suggest(self, text, generator=None):
        from autoops.responder.suggestion import Suggestion

        return Suggestion(summary="no match", root_cause="", fix_steps=[], incident_ids=[], category=None,
                          confidence=0.0, generator="none", declined=True, fallback_reason=f"{generator}: odd")


def test_no_request_grows_the_metrics():
    from prometheus_client import REGISTRY, generate_latest

    agent = ResponderAgent()
    agent._responder = DecliningResponder()
    agent.suggest_fix("hello", generator="first-unknown")  # the one "other" series, made once
    series = len(generate_latest(REGISTRY).splitlines())
    for i in range(2000):
        agent.suggest_fix("hello", generator=f"{SECRETS['github_token'][0]} {i}")
    after = generate_latest(REGISTRY)
    assert len(after.splitlines()) == series and b"ghp_" not in after  # 2.8 MB more before
    assert b'autoops_responder_requests_total{generator="other",outcome="declined"}' in after


class StubResponder:
    def suggest_fix(self, text, generator=None):
        return {"summary": "s", "root_cause": "r", "fix_steps": ["a"], "incident_ids": ["INC-1"], "category": "disk_full",
                "confidence": 0.9, "generator": "extractive", "latency_ms": 1.0, "text_seen": len(text)}


def test_stored_answers_stay_small_whatever_arrives():
    from autoops.agents.controller import MAX_ANSWERS

    controller = Controller(ControllerSettings(scenario="PythonLibrary"), responder=StubResponder(), notifier=Notifier())
    huge = (LOG + "\n") * (900_000 // (len(LOG) + 1))
    for i in range(60):
        labels = {"alertname": "Huge" * 1000, "scenario": "PythonLibrary", **{f"label{j}" * 20: "v" * 5000 for j in range(100)}}
        (answer,) = controller.answer_alerts([alert(f"big{i}", labels, {"summary": "builds fail", "description": huge})])
        assert answer["suggestion"]["text_seen"] <= 4000  # the responder reads the cut text too
    stored = json.dumps(list(controller.answers), ensure_ascii=False)
    assert len(stored) < 60 * 20_000, len(stored)  # 55 MB before
    assert MAX_ANSWERS * 20_000 <= 4_000_000
    assert "…[cut]" in stored and "Hunter2" not in stored


def test_an_alert_that_no_answer_could_encode_is_cleaned_where_it_enters():
    """A lone surrogate stored in an answer made every later GET /answers a 500."""
    controller = Controller(ControllerSettings(scenario="PythonLibrary"), responder=StubResponder(), notifier=Notifier())
    (answer,) = controller.answer_alerts([alert("sur", {"alertname": "Odd\ud800", "password": "Hunter2-Correct-Horse"},
                                                {"summary": "ERROR \ud800", "description": PEM})])
    stored = json.dumps(list(controller.answers), ensure_ascii=False).encode("utf-8")  # raised UnicodeEncodeError before
    assert answer["labels"] == {"alertname": "Odd?", "password": "[REDACTED]"}
    assert b"Hunter2" not in stored and b"secretPEMbody" not in stored

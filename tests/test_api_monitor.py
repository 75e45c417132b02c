from fastapi.testclient import TestClient

from autoops.api.monitor import create_monitor_app


def client():
    return TestClient(create_monitor_app())


def test_simulate_build_returns_outcome_and_counts_it_in_metrics():
    c = client()
    first = c.post("/simulate_build", json={"scenario": "NodeWebapp", "action": 3, "seed": 4})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["action_id"] == 3 and body["action_description"] == "use cache, large runner" and body["build"] == 1
    assert body["status"] in ("success", "failure") and len(body["next_observation"]) == 16
    failures = [c.post("/simulate_build", json={"scenario": "NodeWebapp", "action": 0}).json() for _ in range(60)]
    failed = [b for b in failures if b["status"] == "failure"]
    assert failed and all(b["error_log"] and b["failure_category"] for b in failed)
    text = c.get("/metrics").text
    assert 'autoops_builds_total{failure_category="none",scenario="NodeWebapp",status="success"}' in text
    assert "autoops_build_duration_seconds_bucket" in text
    for category in ("disk_full", "build_oom", "compilation_error", "test_timeout"):  # series exist before a first failure
        assert f'autoops_builds_total{{failure_category="{category}",scenario="NodeWebapp",status="failure"}}' in text


def test_a_scenario_starts_with_every_build_series_at_zero():
    from prometheus_client import REGISTRY

    from autoops.agents.monitor import _zero_series
    from autoops.envs import FAILURES

    _zero_series("ZeroCheck")
    for category in FAILURES:
        assert REGISTRY.get_sample_value("autoops_builds_total", {"scenario": "ZeroCheck", "status": "failure", "failure_category": category}) == 0
    assert REGISTRY.get_sample_value("autoops_build_duration_seconds_count", {"scenario": "ZeroCheck"}) == 0


def test_same_seed_same_builds():
    a = [client().post("/simulate_build", json={"seed": 9}).json()]
    b = [client().post("/simulate_build", json={"seed": 9}).json()]
    assert a == b


def test_bad_requests_get_a_4xx_that_says_what_was_wrong():
    c = client()
    unknown = c.post("/simulate_build", json={"scenario": "Nope"})
    assert unknown.status_code == 404 and "unknown scenario 'Nope'" in unknown.json()["detail"]
    bad_action = c.post("/simulate_build", json={"action": 99})
    assert bad_action.status_code == 422 and "action" in bad_action.text
    not_json = c.post("/simulate_build", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 422
    huge = c.post("/simulate_build", content=b"x" * 2_000_000, headers={"content-type": "application/json"})
    assert huge.status_code == 413 and "over the limit" in huge.json()["detail"]


def test_token_protects_state_changing_endpoints(monkeypatch):
    monkeypatch.setenv("AUTOOPS_API_TOKEN", "s3cret")
    c = client()
    assert c.post("/simulate_build", json={}).status_code == 401
    assert c.post("/simulate_build", json={}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.post("/simulate_build", json={}, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert c.get("/healthz").status_code == 200 and c.get("/metrics").status_code == 200


def test_the_load_generator_drives_a_real_uvicorn_worker():
    from autoops.bench.services import bench_simulate_build

    result = bench_simulate_build(concurrency=(2,), seconds=1.0)
    level = result["levels"][0]
    assert level["connections"] == 2 and level["requests"] > 0
    assert 0 < level["latency_ms"]["p50"] <= level["latency_ms"]["p99"] <= level["latency_ms"]["max"]


def test_docs_and_redoc_load_without_network():
    """Swagger UI and ReDoc come with the app: every script and style they reference is served here."""
    import re

    c = client()
    for page in ("/docs", "/redoc"):
        html = c.get(page)
        assert html.status_code == 200
        assets = re.findall(r"""(?:src|href)=["']([^"']+\.(?:js|css))["']""", html.text)
        assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
        for asset in assets:
            assert c.get(asset).status_code == 200, asset

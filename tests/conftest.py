import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# Wide enough that rich's tables never wrap the ids the CLI tests look for.
os.environ.setdefault("COLUMNS", "200")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The team's ../shared folder; CI always has it, so its absence fails there."""
    if not SHARED.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED} is missing; CI checks out shared/ beside the project")
        pytest.skip(f"{SHARED} is missing")
    return SHARED


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """One tiny trained NodeWebapp run (600 steps), shared by the services' tests."""
    from autoops.optimizer.runs import MODEL
    from autoops.optimizer.train import train

    root = tmp_path_factory.mktemp("runs")
    train("NodeWebapp", seed=0, overrides=["total_timesteps=600", "learning_starts=200", "eval_freq=600"], run_root=root, progress=False)
    return next(root.rglob(MODEL)).parent


class Receiver:
    """A local HTTP endpoint that records each request (method, path, headers, body) and answers ``status``."""

    def __init__(self):
        self.status = 200
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def serve_app(app, port: int | None = None):
    """``app`` served by a real uvicorn on loopback in a thread (``port``: a free one if not given);
    returns (server, thread, base URL) once it accepts connections. Stop it with
    ``server.should_exit = True; thread.join()``."""
    import uvicorn

    from autoops.system.session import free_ports

    port = port or free_ports(1)[0]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            return server, thread, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    raise RuntimeError(f"uvicorn did not start on port {port}")

"""``autoops stack up | down | status``: Prometheus, Alertmanager and the controller on loopback.

The binaries are Debian's (``apt-get install prometheus prometheus-alertmanager``). Their
configuration is rendered from the shipped ``monitoring/`` folder into the stack folder
(``autoops.paths.stack_dir()`` by default) with the chosen ports, and their data, logs and PID
files live there too, so several stacks on different ports and folders do not meet.

With ``AUTOOPS_API_TOKEN`` set, the controller's ``/alerts`` needs it, so the token is written
to ``api-token`` in the stack folder (mode 0600) and Alertmanager sends it from there; without
one, that file is removed and Alertmanager sends no ``Authorization`` header.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from autoops import paths
from autoops.settings import Settings

INSTALL_HINT = "install Debian's packages: sudo apt-get install prometheus prometheus-alertmanager"
SERVICES = ("prometheus", "alertmanager", "controller")  # the order they start in
TOKEN_FILE = "api-token"  # Alertmanager's credentials_file for the controller's /alerts


class StackError(RuntimeError):
    """A binary is missing or a service did not come up; the message says what to do."""


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)  # a service that reloads never reads half a file


def _write_secret(path: Path, text: str) -> None:
    """Like ``_write``, readable by the owner only from the first byte on."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Stack:
    folder: Path = field(default_factory=paths.stack_dir)
    host: str = "127.0.0.1"
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    controller_port: int = 9000

    @property
    def urls(self) -> dict[str, str]:
        return {
            "controller": f"http://{self.host}:{self.controller_port}",
            "prometheus": f"http://{self.host}:{self.prometheus_port}",
            "alertmanager": f"http://{self.host}:{self.alertmanager_port}",
        }

    # -- configuration ------------------------------------------------------------------------
    def render_configs(self, agent_targets: list[str] = (), api_token: str | None = None) -> None:
        """Write prometheus.yml, its rules, the agents' targets and alertmanager.yml with our ports,
        and Alertmanager's token file when ``api_token`` is given."""
        monitoring = paths.monitoring_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        prom = yaml.safe_load((monitoring / "prometheus.yml").read_text())
        prom["rule_files"] = [str(monitoring / rule) for rule in prom["rule_files"]]
        prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [f"{self.host}:{self.alertmanager_port}"]
        for job in prom["scrape_configs"]:
            if job["job_name"] == "autoops-controller":
                job["static_configs"][0]["targets"] = [f"{self.host}:{self.controller_port}"]
            if job["job_name"] == "autoops-agents":
                job["file_sd_configs"][0]["files"] = [str(self.folder / "agents.targets.json")]
        _write(self.folder / "prometheus.yml", yaml.safe_dump(prom, sort_keys=False))
        _write(self.folder / "agents.targets.json", json.dumps([{"targets": list(agent_targets)}] if agent_targets else []))
        am = yaml.safe_load((monitoring / "alertmanager.yml").read_text())
        token_file = self.folder / TOKEN_FILE
        for receiver in am["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                hook["url"] = f"{self.urls['controller']}/alerts"
                http = hook.get("http_config") or {}
                if api_token and "authorization" in http:
                    http["authorization"]["credentials_file"] = str(token_file)
                elif "authorization" in http:  # a missing file would fail every send; an empty one sends "Bearer "
                    del http["authorization"]
                    if not http:
                        del hook["http_config"]
        if api_token:
            _write_secret(token_file, api_token)
        else:
            token_file.unlink(missing_ok=True)  # no stale token left on disk
        _write(self.folder / "alertmanager.yml", yaml.safe_dump(am, sort_keys=False))

    def commands(self) -> dict[str, list[str]]:
        prometheus, alertmanager = _binary("prometheus"), _binary("prometheus-alertmanager", "alertmanager")
        return {
            "prometheus": [
                prometheus, f"--config.file={self.folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.folder / 'prometheus-data'}",
                f"--web.listen-address={self.host}:{self.prometheus_port}", "--web.enable-lifecycle",
            ],
            "alertmanager": [
                alertmanager, f"--config.file={self.folder / 'alertmanager.yml'}",
                f"--storage.path={self.folder / 'alertmanager-data'}",
                f"--web.listen-address={self.host}:{self.alertmanager_port}", "--cluster.listen-address=",
            ],
            "controller": [
                sys.executable, "-m", "uvicorn", "autoops.api.main:app",
                "--host", self.host, "--port", str(self.controller_port), "--log-level", "warning",
            ],
        }

    # -- processes ----------------------------------------------------------------------------
    def _pid(self, name: str) -> int | None:
        """The PID of a running service of this stack, or None."""
        try:
            pid = int((self.folder / f"{name}.pid").read_text())
        except (OSError, ValueError):
            return None
        try:  # reap it if it is our own child that exited, so it does not linger as a zombie
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return None
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
            return pid
        except OSError:
            return None

    def up(self, timeout_s: float = 60.0, env: dict | None = None) -> dict[str, str]:
        """Start whatever is not running, then wait until Prometheus sees every target up. If that
        fails (a busy port, a service that exits, a timeout), the services this call started are
        stopped again before the error goes up; those that were already running are left alone.
        ``env``: settings for the controller's process, on top of this process's environment."""
        # the controller's token, as the controller will read it, is the one Alertmanager must send
        self.render_configs(api_token=Settings.from_env({**os.environ, **(env or {})}).api_token)
        commands = self.commands()
        # a checkout that is not installed imports autoops from its own root, as the caller did
        cwd = paths.project_root() or self.folder
        started = []
        try:
            for name in SERVICES:
                if self._pid(name):
                    continue
                with open(self.folder / f"{name}.log", "ab") as log:
                    process = subprocess.Popen(commands[name], stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                               env={**os.environ, **(env or {})}, start_new_session=True)
                started.append(name)
                _write(self.folder / f"{name}.pid", str(process.pid))
            self.wait_until_up(timeout_s)
        except BaseException:
            self._stop(started)
            raise
        return self.urls

    def wait_until_up(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last = "not answering yet"
        while time.monotonic() < deadline:
            for name in SERVICES:
                if not self._pid(name):
                    tail = (self.folder / f"{name}.log").read_text(errors="replace")[-1500:]
                    raise StackError(f"{name} exited; the end of {self.folder / (name + '.log')}:\n{tail}")
            try:
                targets = httpx.get(f"{self.urls['prometheus']}/api/v1/targets", timeout=2).json()["data"]["activeTargets"]
                alertmanager_ready = httpx.get(f"{self.urls['alertmanager']}/-/ready", timeout=2).status_code == 200
                if targets and all(t["health"] == "up" for t in targets) and alertmanager_ready:
                    return
                last = ", ".join(f"{t['scrapeUrl']}: {t['health']}" for t in targets) or "no targets yet"
            except (httpx.HTTPError, KeyError, ValueError) as err:
                last = str(err)
            time.sleep(0.5)
        raise StackError(f"the stack did not come up within {timeout_s:.0f} s ({last}); logs are in {self.folder}")

    def down(self) -> list[str]:
        """Stop every service of this stack folder; the names of those that were running."""
        return self._stop(SERVICES)

    def _stop(self, names) -> list[str]:
        stopped = []
        for name in reversed(SERVICES):  # the controller first, so no alert is sent to a gone webhook
            if name not in names:
                continue
            pid = self._pid(name)
            if pid:
                os.killpg(pid, signal.SIGTERM)
                for _ in range(50):
                    if not self._pid(name):
                        break
                    time.sleep(0.1)
                else:
                    os.killpg(pid, signal.SIGKILL)
                stopped.append(name)
            (self.folder / f"{name}.pid").unlink(missing_ok=True)
        return stopped

    def status(self) -> dict[str, dict]:
        return {name: {"running": self._pid(name) is not None, "pid": self._pid(name), "url": self.urls[name]}
                for name in ("controller", "prometheus", "alertmanager")}


def _binary(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise StackError(f"{names[0]} is not installed; {INSTALL_HINT}")


def binaries_available() -> bool:
    return all(shutil.which(n) for n in ("prometheus", "promtool")) and bool(shutil.which("prometheus-alertmanager") or shutil.which("alertmanager"))

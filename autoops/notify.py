"""Slack, Discord or any other apprise URL told about each alert the responder answered.

``Notifier.from_config()`` reads ``configs/notify.yaml`` (``urls: [...]``); the environment
variable ``AUTOOPS_NOTIFY_URLS`` (URLs separated by whitespace or commas), when set and not
empty, replaces the file's list. No URLs: notifications are off and apprise is not even imported.
Every URL is parsed at startup, so a typo fails there and not at the first alert.

Sending happens in one background thread, so a slow or failing chat service never delays
Alertmanager's webhook; each delivery (one message to one URL) is counted in
``autoops_notifications_total{outcome="sent|failed"}`` and a failure is logged. URLs carry their
service's tokens, so errors and logs show them masked (``mask_url``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from autoops import metrics
from autoops.paths import config_file
from autoops.settings import settings
from autoops.yamlfile import read_config

URLS_ENV = "AUTOOPS_NOTIFY_URLS"
TITLE_LABELS = ("scenario", "job", "instance")  # what tells one alert of a name from another (alertmanager.yml's group_by)
MAX_FIX_STEPS = 3

log = logging.getLogger(__name__)


class NotifyConfigError(ValueError):
    """``configs/notify.yaml`` or ``$AUTOOPS_NOTIFY_URLS`` is invalid."""


def mask_url(url: str) -> str:
    """The URL with every part that may hold a token cut to its first character: apprise URLs
    carry credentials in the user info, the host (``slack://TokenA/...``), the path
    (``https://hooks.slack.com/services/...``) or the query. A host name with a dot is kept."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return f"{url[:1]}***"
    location, _, query = rest.partition("?")
    host, *segments = location.split("/")
    _, at, host = host.rpartition("@")
    shown = host if re.fullmatch(r"[\w-]+(\.[\w-]+)+(:\d+)?|localhost(:\d+)?", host) else f"{host[:1]}***"
    masked = [f"{segment[:1]}***" if segment else "" for segment in segments]
    return f"{scheme}://{'***@' if at else ''}{'/'.join([shown, *masked])}{'?***' if query else ''}"


@contextlib.contextmanager
def _apprise_quiet() -> Iterator[None]:
    """apprise logs a URL it cannot parse in full, tokens included; our error names it masked."""
    apprise_log = logging.getLogger("apprise")
    level = apprise_log.level
    apprise_log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        apprise_log.setLevel(level)


def format_message(answer: dict) -> tuple[str, str]:
    """Title and Markdown body for one answered alert (an item of ``Controller.answer_alerts``,
    whose text and labels were redacted and cut where the alert entered)."""
    labels = answer.get("labels") or {}
    where = ", ".join(f"{name}={labels[name]}" for name in TITLE_LABELS if labels.get(name))
    title = f"[AutoOps] {answer.get('alertname') or 'alert'} firing" + (f" ({where})" if where else "")
    s = answer["suggestion"]
    lines = [f"**Alert:** {answer.get('text', '')}", ""]
    if s.get("declined"):
        lines.append(f"**Declined: no known incident matches** (best score {s.get('confidence', 0):.2f}).")
        return title, "\n".join(lines)
    lines += [f"**Category:** {s.get('category')} (confidence {s.get('confidence', 0):.2f}, {s.get('generator')})",
              "", f"**Summary:** {s.get('summary', '')}"]
    steps = s.get("fix_steps") or []
    if steps:
        lines += ["", "**Fix steps:**", *(f"{i}. {step}" for i, step in enumerate(steps[:MAX_FIX_STEPS], 1))]
        if len(steps) > MAX_FIX_STEPS:
            lines.append(f"(and {len(steps) - MAX_FIX_STEPS} more: GET /answers)")
    if s.get("incident_ids"):
        lines += ["", f"**Incidents:** {', '.join(s['incident_ids'])}"]
    return title, "\n".join(lines)


class Notifier:
    """Holds the parsed apprise URLs and sends one message per answered alert to each."""

    def __init__(self, urls: Sequence[str] = (), source: str = "Notifier"):
        self._targets: list[tuple[str, object]] = []  # (masked URL, apprise plugin)
        if urls:
            import apprise

            asset = apprise.AppriseAsset(app_id="AutoOps", app_desc="AutoOps alert notifications")
            for i, url in enumerate(urls, 1):
                with _apprise_quiet():
                    plugin = apprise.Apprise.instantiate(url, asset=asset)
                if plugin is None:
                    raise NotifyConfigError(
                        f"{source}: URL #{i} {mask_url(url)!r} is not a URL apprise can send to "
                        "(formats: https://github.com/caronc/apprise/wiki)")
                self._targets.append((mask_url(url), plugin))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autoops-notify") if self._targets else None

    @classmethod
    def from_config(cls, path: str | os.PathLike | None = None) -> "Notifier":
        """URLs from ``$AUTOOPS_NOTIFY_URLS`` if set, else from ``path`` (default
        ``configs/notify.yaml``; a missing default file means notifications off)."""
        urls = settings().notify_urls
        if urls:
            return cls(list(urls), source=f"${URLS_ENV}")
        source, data = read_config(path, config_file("notify.yaml"), NotifyConfigError)
        unknown = sorted(set(data) - {"urls"})
        if unknown:
            raise NotifyConfigError(f"{source}: unknown setting(s) {', '.join(map(str, unknown))}; known: urls")
        urls = data.get("urls") or []
        if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
            raise NotifyConfigError(f"{source}: urls must be a list of apprise URLs (strings)")
        return cls(urls, source=str(source))

    @property
    def enabled(self) -> bool:
        return bool(self._targets)

    @property
    def masked_urls(self) -> list[str]:
        return [masked for masked, _ in self._targets]

    def notify(self, answers: list[dict]) -> None:
        """Queue one message per answer and return at once."""
        if self._pool is None:
            return
        for answer in answers:
            self._pool.submit(self.send, answer)

    def send(self, answer: dict) -> None:
        """Deliver one answer to every URL now; failures are logged and counted, never raised."""
        from apprise import NotifyFormat, NotifyType

        title, body = format_message(answer)
        for masked, plugin in self._targets:
            try:
                sent = plugin.notify(body=body, title=title, notify_type=NotifyType.WARNING, body_format=NotifyFormat.MARKDOWN)
            except Exception as err:  # a broken plugin must not end the sender thread; its message may hold the URL
                log.warning("notification of %s to %s raised %s", answer.get("alertname"), masked, type(err).__name__)
                sent = False
            else:
                if not sent:
                    log.warning("notification of %s to %s failed (apprise's log says why)", answer.get("alertname"), masked)
            metrics.NOTIFICATIONS.labels("sent" if sent else "failed").inc()

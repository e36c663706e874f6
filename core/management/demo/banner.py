"""What `make demo` shows last: where the demo runs, where its logs go, and the staff logins."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

_ANY_ADDRESS = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 (we only format a URL for the browser)


def base_url(host: str, port: int | str) -> str:
    """The address a browser on this machine can open for a server bound to host:port."""
    host = host.strip()
    if host in _ANY_ADDRESS:
        host = "localhost"  # bound to every interface: 0.0.0.0 itself is not an address to browse to
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{int(port)}"


def process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_until_answering(url: str, *, timeout: float, pid: int | None = None, interval: float = 0.25) -> str | None:
    """Poll `url` until it answers with any HTTP status (None); otherwise why not: `timeout` seconds passed,
    or the server's process `pid` exited (e.g. its port was taken), so nobody waits a minute for nothing."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own http://host:port)
                return None
        except urllib.error.HTTPError:
            return None  # it answered (e.g. 503 while the database warms up): the server is up
        except (urllib.error.URLError, OSError):
            if pid is not None and not process_running(pid):
                return "the server stopped before answering"
            if time.monotonic() >= deadline:
                return f"nothing answered within {timeout:g} s"
            time.sleep(interval)


def email_log() -> str | None:
    """Where sent emails go when they are written to files (the demo), relative to the project if inside it."""
    if settings.EMAIL_BACKEND != "django.core.mail.backends.filebased.EmailBackend":
        return None
    path = Path(settings.EMAIL_FILE_PATH)
    try:
        return f"{path.relative_to(settings.BASE_DIR)}/"
    except ValueError:
        return f"{path}/"


def banner(*, url: str, logins: list[tuple[str, str, str, str]], logs: dict[str, str], running: bool) -> list[str]:
    """The lines to print: addresses and log files first, the logins last (what a new user needs next)."""
    rule = "─" * 78
    lines = [rule, f" ToteTaxi demo {'running ' if running else ''}at {url}/", "",
             f"   Ops console   {url}/admin/",
             f"   Booking API   {url}/api/v1/docs   (the interactive reference; every route is under /api/v1/)"]
    if (emails := email_log()) is not None:
        lines.append(f"   Emails sent   {emails}   (one .log file per message)")
    lines += [f"   {name:<13} {path}" for name, path in logs.items()]
    lines += ["", " Staff logins (new passwords on every run; Admin and Finance enrol an authenticator app at their",
              " first sign-in, as in production; Operations signs in with the password alone):"]
    lines += [f"   {group:<11} {name:<16} username: {username:<8} password: {password}"
              for group, name, username, password in logins]
    if running:
        lines += ["", " Ctrl+C stops the server and the job consumer."]
    lines.append(rule)
    return lines

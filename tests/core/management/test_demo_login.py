"""`manage.py demo_login`: fresh passwords for named staff, printed last, with the right address for HOST/PORT."""

import socket
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from core.accounts.models import User
from core.management.demo.banner import base_url
from tests.ops_console.conftest import ensure_staff_groups


@pytest.mark.parametrize(("host", "port", "url"), [
    ("127.0.0.1", 8000, "http://127.0.0.1:8000"),
    ("0.0.0.0", "8765", "http://localhost:8765"),
    ("", 9000, "http://localhost:9000"),
    ("::1", 8001, "http://[::1]:8001"),
    ("demo.local", 80, "http://demo.local:80"),
])
def test_the_printed_address_is_one_a_browser_can_open(host, port, url):
    assert base_url(host, port) == url


def _logins(output: str) -> dict[str, str]:
    rows = [line.split() for line in output.splitlines() if "username:" in line]
    return {row[row.index("username:") + 1]: row[row.index("password:") + 1] for row in rows}


def test_logins_are_printed_last_and_work(db, capsys):
    ensure_staff_groups()
    call_command("demo_login", "--host", "0.0.0.0", "--port", "8765", "--log", "Request log=var/demo-server.log")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    # then: the addresses for that port, the log named, and the three logins just before the closing rule
    assert any("http://localhost:8765/admin/" in line for line in lines)
    assert any(line.split() == ["Request", "log", "var/demo-server.log"] for line in lines)
    assert [line.split("username:")[1].split()[0] for line in lines[-4:-1]] == ["admin", "ops", "finance"]
    assert "Marco Reyes" in lines[-3]
    # and a new user is told why Admin and Finance are asked for an authenticator at first sign-in
    assert any("authenticator app" in line for line in lines[-7:-4])
    for username, password in _logins("\n".join(lines)).items():
        assert User.objects.get(username=username).check_password(password)


def test_the_email_folder_is_printed_and_created_when_emails_go_to_files(db, capsys, tmp_path):
    folder = tmp_path / "emails"
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", EMAIL_FILE_PATH=folder):
        call_command("demo_login")
    out = capsys.readouterr().out
    assert f"Emails sent   {folder}/" in out
    assert folder.is_dir()


def test_without_file_emails_no_email_folder_is_claimed(db, capsys):
    call_command("demo_login")  # tests keep emails in memory
    assert "Emails sent" not in capsys.readouterr().out


def test_wait_prints_once_the_server_answers(live_server, capsys):
    ensure_staff_groups()
    host, port = live_server.url.removeprefix("http://").split(":")
    call_command("demo_login", "--host", host, "--port", port, "--wait", "30")
    out = capsys.readouterr().out
    assert f"ToteTaxi demo running at {live_server.url}/" in out
    assert "Ctrl+C stops the server" in out


def _silent_port() -> tuple[socket.socket, int]:
    probe = socket.socket()  # bound, never listening: nothing answers there
    probe.bind(("127.0.0.1", 0))
    return probe, probe.getsockname()[1]


def test_wait_gives_up_when_nothing_answers(db):
    probe, port = _silent_port()
    with probe, pytest.raises(CommandError, match="nothing answered within 0.5 s"):
        call_command("demo_login", "--port", str(port), "--wait", "0.5")


def test_wait_stops_as_soon_as_the_server_process_has_exited(db):
    # given a server that died at once (e.g. its port was taken): waiting a whole minute would help nobody
    server = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    server.wait()
    probe, port = _silent_port()
    with probe, pytest.raises(CommandError, match="the server stopped before answering"):
        call_command("demo_login", "--port", str(port), "--wait", "60", "--pid", str(server.pid))

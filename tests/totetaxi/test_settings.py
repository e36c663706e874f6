import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args, **env):
    base = {k: v for k, v in os.environ.items()
            if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "TOTETAXI_TESTING",
                         "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True,
                          timeout=120)


def test_production_refuses_to_start_without_secret_key():
    result = _run(["manage.py", "check"], DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], DEBUG="0",
                  SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="ops.totetaxi.com",
                  HUEY_SQLITE_PATH=str(tmp_path / "huey.db"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_health_is_503_when_the_database_does_not_answer():
    # A real unreachable database (nothing listens on port 9), not a patched function.
    script = (
        "import django, os; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/api/v1/health/');"
        "print(r.status_code, r.json()['error']['code'])"
    )
    result = _run(["-c", script], DEBUG="1", DJANGO_SETTINGS_MODULE="totetaxi.settings",
                  DATABASE_URL="postgres://postgres@127.0.0.1:9/nothing", ALLOWED_HOSTS="testserver")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "503 database_unavailable"


def test_logs_are_json_lines_on_stdout():
    script = "import django, logging; django.setup(); logging.getLogger('totetaxi').warning('hello', extra={'booking': 'TT-1'})"
    result = _run(["-c", script], DEBUG="1", DJANGO_SETTINGS_MODULE="totetaxi.settings")
    import json

    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["level"] == "WARNING" and line["message"] == "hello" and line["booking"] == "TT-1"


def test_schema_only_commands_run_without_a_secret_key():
    result = _run(["manage.py", "makemigrations", "--check", "--dry-run"], DEBUG="0")
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_postgresql_prepares_statements_unless_turned_off_for_an_old_pgbouncer():
    script = ("import django; django.setup(); from django.conf import settings;"
              "o = settings.DATABASES['default']['OPTIONS']; print(o.get('server_side_binding'), o.get('prepare_threshold'))")
    common = {"DEBUG": "1", "DJANGO_SETTINGS_MODULE": "totetaxi.settings",
              "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none"}
    assert _run(["-c", script], **common).stdout.split() == ["True", "5"]
    assert _run(["-c", script], **common, DB_PREPARED_STATEMENTS="0").stdout.split() == ["None", "None"]

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args, **env):
    """Run with the test environment minus anything that decides production vs. demo; None unsets a variable."""
    base = {k: v for k, v in os.environ.items()
            if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "TOTETAXI_TESTING",
                         "DJANGO_ALLOW_ASYNC_UNSAFE", "PUBLIC_SITE_URL", "TOTETAXI_SUPPORT_PHONE"}}
    merged = {k: v for k, v in {**base, **env}.items() if v is not None}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=merged, capture_output=True, text=True,
                          timeout=120)


def _production(tmp_path, **env):
    """What a production deployment sets (README "Production")."""
    return {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "ops.totetaxi.com",
            "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"), "REDIS_URL": "redis://127.0.0.1:6379/9",
            "PUBLIC_SITE_URL": "https://www.totetaxi.com", "TOTETAXI_SUPPORT_PHONE": "(631) 595-3100",
            "PUBLIC_BASE_URL": "https://ops.totetaxi.com", **env}


def test_production_refuses_to_start_without_secret_key():
    result = _run(["manage.py", "check"], DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **_production(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_when_rate_limits_would_be_counted_per_worker(tmp_path):
    # Without REDIS_URL the cache is local memory: each gunicorn worker would allow the full limit.
    result = _run(["manage.py", "check", "--deploy"], **_production(tmp_path, REDIS_URL=None))
    assert result.returncode != 0
    assert "totetaxi.E001" in result.stderr and "REDIS_URL" in result.stderr

    turned_off = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                      **_production(tmp_path, REDIS_URL=None, TOTETAXI_RATE_LIMIT="0"))
    assert turned_off.returncode == 0, turned_off.stdout + turned_off.stderr


@pytest.mark.parametrize("name", ["PUBLIC_SITE_URL", "TOTETAXI_SUPPORT_PHONE"])
def test_production_refuses_to_start_with_a_placeholder_for_what_customers_see(tmp_path, name):
    result = _run(["manage.py", "check"], **_production(tmp_path, **{name: None}))
    assert result.returncode != 0
    assert f"{name} is not set" in result.stderr


def test_the_demo_keeps_friendly_defaults():
    script = ("import django; django.setup(); from django.conf import settings;"
              "print(settings.TOTETAXI['PUBLIC_SITE_URL'], settings.TOTETAXI['SUPPORT_PHONE'])")
    result = _run(["-c", script], DEBUG="1", DJANGO_SETTINGS_MODULE="totetaxi.settings")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "http://localhost:3000 (631) 555-0142"


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


def test_check_deploy_warns_when_emailed_links_would_have_no_host(tmp_path):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                  **_production(tmp_path, PUBLIC_BASE_URL=None))
    assert result.returncode != 0
    assert "totetaxi.W001" in result.stderr + result.stdout

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args, **env):
    base = {k: v for k, v in os.environ.items()
            if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "TOTETAXI_TESTING"}}
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

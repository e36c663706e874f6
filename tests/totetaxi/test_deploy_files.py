"""The deploy files can't be run here (no containers): check they say what README "Production" promises."""

import re
import runpy
import tomllib
from pathlib import Path

import yaml
from django.urls import resolve

ROOT = Path(__file__).resolve().parents[2]


def _stages() -> list[list[str]]:
    """Dockerfile instructions (continuations joined), split into build stages."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_dockerfile_is_multi_stage_slim_python_and_non_root():
    stages = _stages()
    assert len(stages) >= 2
    final = stages[-1]
    base = re.match(r"FROM python:(\d+)\.(\d+)-slim\S*", final[0])
    assert base and (int(base[1]), int(base[2])) >= (3, 12), final[0]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}


def test_final_image_has_no_build_tools_or_dev_dependencies():
    build, final = _stages()[0], _stages()[-1]
    final_runs = " ".join(line for line in final if line.upper().startswith("RUN "))
    assert not re.search(r"build-essential|gcc|apt-get install|pip install", final_runs), final_runs
    assert any("--from=build" in line and "/opt/venv" in line for line in final)
    installs = [line for stage in _stages() for line in stage if "pip install" in line]
    assert installs and not any("[dev]" in line or "dev" in line.split("pip install", 1)[1] for line in installs)
    assert any("collectstatic" in line for line in build)


def test_dockerfile_runs_gunicorn_and_ignores_tests_and_secrets():
    cmd = [line for line in _stages()[-1] if line.upper().startswith("CMD ")][-1]
    assert "gunicorn" in cmd and "totetaxi.wsgi:application" in cmd
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests", "db.sqlite3*"} <= set(ignored)


def test_fly_toml_web_worker_and_migrate_release():
    fly = tomllib.loads((ROOT / "fly.toml").read_text())
    assert "gunicorn" in fly["processes"]["web"]
    assert "run_huey" in fly["processes"]["worker"]
    assert "migrate" in fly["deploy"]["release_command"]
    service = fly["http_service"]
    assert service["processes"] == ["web"] and service["internal_port"] == 8000
    (check,) = service["checks"]
    assert resolve(check["path"]).url_name == "ready"
    assert check["headers"]["X-Forwarded-Proto"] == "https"  # else the TLS redirect answers 301


def test_compose_runs_web_worker_postgres_and_redis():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "db", "redis", "migrate"} <= set(services)
    assert "gunicorn" in services["web"]["command"] and "run_huey" in services["worker"]["command"]
    assert services["db"]["image"].startswith("postgres:") and services["redis"]["image"].startswith("redis:")
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].split("@")[1].startswith("db:") and env["REDIS_URL"].startswith("redis://redis:")
        assert env["DEBUG"] == "0"
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_gunicorn_config_binds_the_port_it_is_given(monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["bind"] == "0.0.0.0:8123" and config["workers"] == 5 and config["timeout"] >= 20

"""The database unreachable: console and other HTML pages answer a 503 page (no query, Retry-After), not a 500.

The private-cluster restart test (tests/public_api/test_postgres_restart.py) checks the same over HTTP against
gunicorn while PostgreSQL really stops and starts again.
"""

import json
import socket

from tests.totetaxi.test_settings import _production, _run

# A real unreachable PostgreSQL (nothing listens on port 9), in a fresh process: the test client must not
# re-raise the view's exception (it would, by default, instead of answering).
SCRIPT = """
import json, sys, django
django.setup()
from django.test import Client
c = Client(raise_request_exception=False)
c.cookies["sessionid"] = "a-session-the-database-must-be-asked-about"
out = []
PAGES = [("get", "/admin/"), ("get", "/admin/core/booking/"), ("post", "/admin/login/"),
         ("get", "/api/v1/services/packages/")]
for method, path in PAGES[-int(sys.argv[1]):] if len(sys.argv) > 1 else PAGES:
    r = getattr(c, method)(path, {"username": "ops", "password": "x"} if method == "post" else None)
    out.append({"path": path, "status": r.status_code, "type": r["Content-Type"], "retry": r.get("Retry-After"),
                "body": r.content.decode()[:3000]})
print(json.dumps(out))
"""


def test_console_pages_answer_a_503_page_when_the_database_is_unreachable():
    result = _run(["-c", SCRIPT], DEBUG="1", DJANGO_SETTINGS_MODULE="totetaxi.settings", REDIS_URL="",
                  DATABASE_URL="postgres://postgres@127.0.0.1:9/nothing", ALLOWED_HOSTS="testserver")
    assert result.returncode == 0, result.stderr[-3000:]
    answers = {a["path"]: a for a in json.loads(result.stdout.strip().splitlines()[-1])}

    for path in ("/admin/", "/admin/core/booking/", "/admin/login/"):
        page = answers[path]
        assert page["status"] == 503, (path, page["status"], page["body"][:500])
        assert page["type"].startswith("text/html") and page["retry"] == "5"
        assert "Temporarily unavailable" in page["body"] and "unfold/css/styles.css" in page["body"]
        assert "Traceback" not in page["body"]
    api = answers["/api/v1/services/packages/"]
    assert api["status"] == 503 and api["retry"] == "5"
    assert json.loads(api["body"])["error"]["code"] == "database_unavailable"


def test_a_database_host_that_never_answers_is_given_up_on_after_the_connect_timeout(tmp_path):
    # given a "PostgreSQL" that accepts the TCP connection (the kernel's backlog does) and then says nothing
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        # when the console and the API are asked for a page, in production settings (the subprocess is killed at
        # 120 s: without the connect timeout libpq would wait forever)
        result = _run(["-c", SCRIPT, "2"], **_production(tmp_path, REDIS_URL="", ALLOWED_HOSTS="testserver",
                                                    SECURE_SSL_REDIRECT="0", DB_CONNECT_TIMEOUT="1",
                                                    DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/nothing"),
                      DJANGO_SETTINGS_MODULE="totetaxi.settings")

    # then each answers 503, having given up on the connection
    assert result.returncode == 0, result.stderr[-3000:]
    answers = {a["path"]: a["status"] for a in json.loads(result.stdout.strip().splitlines()[-1])}
    assert set(answers.values()) == {503}, answers

"""The database unreachable: console and other HTML pages answer a 503 page (no query, Retry-After), not a 500.

The private-cluster restart test (tests/public_api/test_postgres_restart.py) checks the same over HTTP against
gunicorn while PostgreSQL really stops and starts again.
"""

import json

from tests.totetaxi.test_settings import _run

# A real unreachable PostgreSQL (nothing listens on port 9), in a fresh process: the test client must not
# re-raise the view's exception (it would, by default, instead of answering).
SCRIPT = """
import json, django
django.setup()
from django.test import Client
c = Client(raise_request_exception=False)
c.cookies["sessionid"] = "a-session-the-database-must-be-asked-about"
out = []
for method, path in [("get", "/admin/"), ("get", "/admin/core/booking/"), ("post", "/admin/login/"),
                     ("get", "/api/v1/services/packages/")]:
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

"""Reset the demo's staff logins and print them, with where the demo runs, as the last thing on screen."""

import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.common.audit import acting_as
from core.management.demo.banner import banner, base_url, email_log, wait_until_answering
from core.management.demo.staff import STAFF, demo_staff_ensure


class Command(BaseCommand):
    help = "Create or reset the demo staff logins (admin, ops, finance) with fresh passwords and print them."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="The host the server is bound to (make demo: HOST).")
        parser.add_argument("--port", type=int, default=8000, help="The server's port (make demo: PORT).")
        parser.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                            help="First wait up to SECONDS for the server to answer (so the logins follow its "
                                 "startup output).")
        parser.add_argument("--pid", type=int, help="The server's process id: stop waiting if it exits.")
        parser.add_argument("--log", action="append", default=[], metavar="NAME=PATH",
                            help="A log file to mention, e.g. --log 'Server log=var/demo-server.log'.")

    def handle(self, *args, host: str, port: int, wait: float, pid: int | None, log: list[str], **options):
        url = base_url(host, port)
        if wait and (problem := wait_until_answering(f"{url}/api/v1/health/", timeout=wait, pid=pid)):
            raise CommandError(f"No demo at {url}: {problem}.")
        logins = []
        with acting_as(None, user_agent="manage.py demo_login"):
            users = demo_staff_ensure()
            for spec in STAFF:
                user, password = users[spec.username], secrets.token_urlsafe(9)
                user.set_password(password)
                user.save(update_fields=["password"])
                logins.append((spec.group, user.get_full_name(), user.username, password))
        if email_log() is not None:
            Path(settings.EMAIL_FILE_PATH).mkdir(parents=True, exist_ok=True)  # there to look at before the first email
        logs = dict(item.split("=", 1) for item in log if "=" in item)
        self.stdout.write("\n".join(banner(url=url, logins=logins, logs=logs, running=bool(wait))))

"""Local runs (`make demo`, DEBUG=1): the job consumer's emails are written to files, not the terminal."""

from tests.totetaxi.test_settings import _run

SEND = (
    "import django; django.setup();"
    "from django.conf import settings; from django.core.mail import send_mail;"
    "print(settings.EMAIL_BACKEND, settings.EMAIL_FILE_PATH);"
    "send_mail('Your ToteTaxi booking', 'See you Tuesday.', 'bookings@totetaxi.com', ['a@example.com'])"
)


def test_debug_writes_each_email_to_a_file_in_the_folder_it_names(tmp_path):
    folder = tmp_path / "emails"
    result = _run(["-c", SEND], DEBUG="1", DJANGO_SETTINGS_MODULE="totetaxi.settings", POSTMARK_SERVER_TOKEN="",
                  EMAIL_FILE_PATH=str(folder), HUEY_SQLITE_PATH=str(tmp_path / "huey.db"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.mail.backends.filebased.EmailBackend", str(folder)]
    assert "Your ToteTaxi booking" not in result.stdout  # nothing on the terminal
    (written,) = folder.glob("*.log")
    assert "Subject: Your ToteTaxi booking" in written.read_text()


def test_debug_defaults_to_var_demo_emails(tmp_path):
    script = "import django; django.setup(); from django.conf import settings; print(settings.EMAIL_FILE_PATH)"
    result = _run(["-c", script], DEBUG="1", DJANGO_SETTINGS_MODULE="totetaxi.settings", POSTMARK_SERVER_TOKEN="",
                  EMAIL_FILE_PATH="", HUEY_SQLITE_PATH=str(tmp_path / "huey.db"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("var/demo-emails")

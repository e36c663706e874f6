"""The Twilio wrapper against the local fake Twilio API (real twilio library, real HTTP, real signatures)."""

import socket
import time

import pytest

from core.integrations.twilio import (
    SmsResult,
    TwilioClient,
    TwilioRejected,
    TwilioUnavailable,
    validate_signature,
)
from core.integrations.twilio.client import BaseUrlHttpClient

CALLBACK_URL = "https://ops.totetaxi.com/api/webhooks/twilio/status/"


def make_client(fake, **kwargs) -> TwilioClient:
    kwargs.setdefault("timeout", 5.0)
    return TwilioClient(account_sid=fake.account_sid, auth_token=fake.auth_token,
                        from_number=fake.from_number, api_base=fake.url, **kwargs)


def test_send_sms_returns_sid_and_status(fake_twilio):
    # when
    result = make_client(fake_twilio).send_sms(
        to="+12125550123", body="ToteTaxi: booking TT-2027-000123 confirmed.", from_=None,
        status_callback=CALLBACK_URL)

    # then
    assert isinstance(result, SmsResult)
    assert result.sid.startswith("SM") and len(result.sid) == 34
    assert result.status == "queued"
    [sent] = fake_twilio.messages
    assert sent["sid"] == result.sid
    assert sent["to"] == "+12125550123"
    assert sent["from"] == fake_twilio.from_number
    assert sent["body"] == "ToteTaxi: booking TT-2027-000123 confirmed."
    assert sent["status_callback"] == CALLBACK_URL


def test_explicit_sender_and_no_callback(fake_twilio):
    make_client(fake_twilio).send_sms(to="+12125550123", body="hi", from_="+16315550199", status_callback=None)

    [sent] = fake_twilio.messages
    assert sent["from"] == "+16315550199"
    assert sent["status_callback"] is None


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_is_unavailable(fake_twilio, status):
    fake_twilio.fail_next(1, status=status)

    with pytest.raises(TwilioUnavailable) as excinfo:
        make_client(fake_twilio).send_sms(to="+12125550123", body="hi", status_callback=None)

    assert excinfo.value.status == status
    assert excinfo.value.maybe_sent is False
    assert fake_twilio.messages == []
    # the fault was used up: the retry goes through
    assert make_client(fake_twilio).send_sms(to="+12125550123", body="hi").status == "queued"


def test_rate_limited_is_unavailable(fake_twilio):
    fake_twilio.fail_next(1, status=429)

    with pytest.raises(TwilioUnavailable) as excinfo:
        make_client(fake_twilio).send_sms(to="+12125550123", body="hi")

    assert excinfo.value.code == 20429


def test_timeout_is_unavailable_and_may_have_been_sent(fake_twilio):
    fake_twilio.hang_next(1, seconds=1.0)
    client = make_client(fake_twilio, timeout=0.3)

    started = time.monotonic()
    with pytest.raises(TwilioUnavailable) as excinfo:
        client.send_sms(to="+12125550123", body="hi")

    assert time.monotonic() - started < 0.9
    assert excinfo.value.maybe_sent is True
    # like Twilio, the fake still carries out the request the client gave up on
    deadline = time.monotonic() + 3
    while not fake_twilio.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake_twilio.messages) == 1


def test_unreachable_server_is_unavailable_and_not_sent():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = TwilioClient(account_sid="AC" + "0" * 32, auth_token="x" * 32, from_number="+16315550100",
                          api_base=f"http://127.0.0.1:{port}", timeout=2)

    with pytest.raises(TwilioUnavailable) as excinfo:
        client.send_sms(to="+12125550123", body="hi")

    assert excinfo.value.maybe_sent is False


def test_opted_out_recipient_is_rejected_with_21610(fake_twilio):
    fake_twilio.opt_out("+12125550123")

    with pytest.raises(TwilioRejected) as excinfo:
        make_client(fake_twilio).send_sms(to="+12125550123", body="hi")

    assert excinfo.value.code == 21610
    assert excinfo.value.status == 400
    assert excinfo.value.unsubscribed
    assert fake_twilio.messages == []


def test_invalid_number_is_rejected_with_21211(fake_twilio):
    with pytest.raises(TwilioRejected) as excinfo:
        make_client(fake_twilio).send_sms(to="555-0123", body="hi")

    assert excinfo.value.code == 21211
    assert not excinfo.value.unsubscribed


def test_wrong_credentials_are_rejected_with_20003(fake_twilio):
    client = TwilioClient(account_sid=fake_twilio.account_sid, auth_token="wrong", api_base=fake_twilio.url,
                          from_number=fake_twilio.from_number)

    with pytest.raises(TwilioRejected) as excinfo:
        client.send_sms(to="+12125550123", body="hi")

    assert (excinfo.value.status, excinfo.value.code) == (401, 20003)


def test_status_callback_signature_validates(fake_twilio):
    result = make_client(fake_twilio).send_sms(to="+12125550123", body="hi", status_callback=CALLBACK_URL)

    params, signature = fake_twilio.status_callback_request(result.sid, "delivered")

    assert params["MessageSid"] == result.sid
    assert params["MessageStatus"] == "delivered"
    assert validate_signature(CALLBACK_URL, params, signature, auth_token=fake_twilio.auth_token)
    assert make_client(fake_twilio).validate_signature(CALLBACK_URL, params, signature)


def test_status_callback_signature_rejects_tampering(fake_twilio):
    result = make_client(fake_twilio).send_sms(to="+12125550123", body="hi", status_callback=CALLBACK_URL)
    params, signature = fake_twilio.status_callback_request(result.sid, "undelivered")
    token = fake_twilio.auth_token

    assert params["ErrorCode"] == "30003"
    assert not validate_signature(CALLBACK_URL, {**params, "MessageStatus": "delivered"}, signature,
                                  auth_token=token)
    assert not validate_signature(CALLBACK_URL.replace("ops.", "evil."), params, signature, auth_token=token)
    assert not validate_signature(CALLBACK_URL, params, "", auth_token=token)
    assert not validate_signature(CALLBACK_URL, params, None, auth_token=token)
    _, forged = fake_twilio.status_callback_request(result.sid, "delivered", auth_token="not-the-token")
    assert not validate_signature(CALLBACK_URL, params, forged, auth_token=token)


@pytest.mark.parametrize("url", [
    "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
    "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
])
def test_base_url_client_rewrites_twilio_hosts(url):
    client = BaseUrlHttpClient(api_base="http://127.0.0.1:9/")

    assert client.rewrite(url) == "http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages.json"
    assert BaseUrlHttpClient().rewrite(url) == url


@pytest.fixture
def twilio_settings(fake_twilio):
    import django
    from django.conf import settings
    from django.test import override_settings

    if not settings.configured:  # standalone run (-p no:django); under pytest-django the project's settings
        settings.configure(SECRET_KEY="test-only", INSTALLED_APPS=[])
        django.setup()
    with override_settings(TWILIO_ACCOUNT_SID=fake_twilio.account_sid, TWILIO_AUTH_TOKEN=fake_twilio.auth_token,
                           TWILIO_FROM_NUMBER=fake_twilio.from_number, TWILIO_API_BASE=fake_twilio.url):
        yield fake_twilio


def test_module_send_sms_uses_settings(twilio_settings):
    from core.integrations.twilio import get_client, send_sms

    result = send_sms(to="+12125550123", body="hi", status_callback=CALLBACK_URL)

    assert twilio_settings.messages[0]["sid"] == result.sid
    assert twilio_settings.messages[0]["from"] == twilio_settings.from_number
    assert get_client() is get_client()


def test_get_client_follows_changed_settings(twilio_settings):
    from django.test import override_settings

    from core.integrations.twilio import get_client

    first = get_client()
    with override_settings(TWILIO_FROM_NUMBER="+16315550177"):
        second = get_client()

    assert second is not first
    assert second.from_number == "+16315550177"

"""Two-factor helpers for tests: a confirmed authenticator for a user, its current code, a verified session."""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.accounts.two_factor import TOTP_DEVICE_NAME


def give_totp_device(user) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=True)


def current_code(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    """What the person's authenticator app shows now (RFC 6238, the device's own key and step)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift + offset_steps)
    return f"{totp.token():0{device.digits}d}"


def verify_session(client, user) -> None:
    """Mark the client's session as having passed the second factor, as the verify page does."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = give_totp_device(user).persistent_id
    session.save()

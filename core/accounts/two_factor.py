"""Staff two-factor authentication: TOTP (django-otp) plus single-use recovery codes (its static device).

Who must use it is decided here, once: Admin and Finance staff always, everyone else only when
TWO_FACTOR_REQUIRED_FOR_ALL_STAFF is on; anyone who enrolled anyway is asked for a code at every sign-in.
"""

from __future__ import annotations

import secrets

import django_otp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.common.errors import ValidationError

REQUIRED_GROUPS = frozenset({"Admin", "Finance"})
RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


class InvalidTwoFactorCode(ValidationError):
    """That code is not valid (or was already used)."""

    code = "invalid_two_factor_code"


def two_factor_required(user) -> bool:
    if getattr(settings, "TWO_FACTOR_REQUIRED_FOR_ALL_STAFF", False):
        return True
    if user.is_superuser or user.role == user.Role.ADMIN:
        return True
    return user.groups.filter(name__in=REQUIRED_GROUPS).exists()


def has_two_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_device_start(*, user) -> TOTPDevice:
    """The unconfirmed device an enrolment shows as a QR code (the same one until it is confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


@transaction.atomic
def totp_device_confirm(*, user, device: TOTPDevice, token: str) -> list[str]:
    """Confirm an enrolment with a first code from the app; returns fresh recovery codes (shown once)."""
    if device.user_id != user.pk or device.confirmed:
        raise InvalidTwoFactorCode("This enrolment is no longer open: start again.")
    if not device.verify_token(_normalise(token)):
        raise InvalidTwoFactorCode(fields={"code": ["That code is not valid: check the app's clock and retry."]})
    # One authenticator per person: a new enrolment replaces the old phone.
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return recovery_codes_regenerate(user=user)


@transaction.atomic
def recovery_codes_regenerate(*, user) -> list[str]:
    """Replace every recovery code of `user` with RECOVERY_CODE_COUNT new single-use ones."""
    # One at a time per person, on the user's row: django-otp has no unique rule on (user, name), so two requests
    # at once could each create a device, or each delete only the codes it saw and keep both sets working.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME,
                                                   defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def two_factor_verify(*, user, token: str):
    """The device a code (authenticator or recovery) belongs to; a recovery code is used up. Throttled by
    django-otp: repeated failures lock verification for growing intervals."""
    device = django_otp.match_token(user, _normalise(token))
    if device is None:
        raise InvalidTwoFactorCode(fields={"code": ["That code is not valid."]})
    return device


def two_factor_reset(*, user) -> None:
    """Remove every device (a lost phone): the person enrols again at the next sign-in."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def _recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits each, single use, throttled
    return f"{raw[:5]}-{raw[5:]}"


def _normalise(token: str) -> str:
    return "".join((token or "").split())

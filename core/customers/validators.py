import functools
import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

US_STATES = frozenset(
    ["AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC"]
)
ZIP_REGEX = r"^[0-9]{5}(-[0-9]{4})?$"


# The API's request schema and the booking services check the same number in one request; parsing costs
# ~65 µs, so a parsed number is remembered (a refused one is not: lru_cache does not keep exceptions).
@functools.lru_cache(maxsize=4096)
def normalize_phone(raw: str) -> str:
    """Parse a phone number (US default region) and return it in E.164, or raise ValidationError."""
    try:
        parsed = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError("Enter a valid phone number, e.g. +12125550123.", code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError("Enter a valid phone number, e.g. +12125550123.", code="invalid_phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    if value and normalize_phone(value) != value:
        raise ValidationError("Phone numbers are stored in E.164 form, e.g. +12125550123.", code="invalid_phone")


def validate_us_state(value: str) -> None:
    if value not in US_STATES:
        raise ValidationError(f"{value!r} is not a US state code.", code="invalid_state")


# --- One check per customer/address field, shared by the services and the API's request schemas -----------
# Each returns the sentence to show a person, or None when the value is fine.

def name_problem(value: str) -> str | None:
    return None if value.strip() else "Enter the customer's name."


def email_problem(value: str) -> str | None:
    try:
        validate_email(value.strip())
    except ValidationError:
        return "Enter a valid email address."
    return None


def phone_problem(value: str) -> str | None:
    """Blank is fine (the phone is optional); anything else must be a real number."""
    if not value.strip():
        return None
    try:
        normalize_phone(value.strip())
    except ValidationError as exc:
        return exc.messages[0]
    return None


def line1_problem(value: str) -> str | None:
    return None if value.strip() else "Enter the street address."


def city_problem(value: str) -> str | None:
    return None if value.strip() else "Enter the city."


def state_problem(value: str) -> str | None:
    return None if value.strip().upper() in US_STATES else "Enter a two-letter US state code, e.g. NY."


def zip_problem(value: str) -> str | None:
    return None if re.match(ZIP_REGEX, value.strip()) else "Enter a US ZIP code, e.g. 10021."


ADDRESS_CHECKS = {"line1": line1_problem, "city": city_problem, "state": state_problem, "zip_code": zip_problem}

import phonenumbers
from django.core.exceptions import ValidationError

US_STATES = frozenset(
    ["AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC"]
)
ZIP_REGEX = r"^[0-9]{5}(-[0-9]{4})?$"


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

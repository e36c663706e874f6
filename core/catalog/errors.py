from core.common.errors import Conflict, ErrorCode, ValidationError


class PricingError(ValidationError):
    """The booking request cannot be priced."""

    code = ErrorCode.VALIDATION_ERROR


class CapacityBelowBookings(Conflict):
    """Capacity may not drop below the bookings already holding a slot on the date."""

    code = ErrorCode.CAPACITY_BELOW_BOOKINGS


class VanScheduleExists(Conflict):
    """The date already has a van schedule: edit that one."""

    code = ErrorCode.VAN_SCHEDULE_EXISTS


class PolicyInvalid(ValidationError):
    """The change policy is not valid."""

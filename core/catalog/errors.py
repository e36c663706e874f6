from core.common.errors import Conflict, ValidationError


class PricingError(ValidationError):
    """The booking request cannot be priced."""

    code = "validation_error"


class CapacityBelowBookings(Conflict):
    """Capacity may not drop below the bookings already holding a slot on the date."""

    code = "capacity_below_bookings"

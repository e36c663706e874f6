from core.common.errors import Conflict, DomainError, PermissionDenied


class NotDispatchable(Conflict):
    """This booking cannot be dispatched yet."""

    code = "not_dispatchable"


class DispatchNotConfigured(DomainError):
    """ONFLEET_API_KEY is not set and local dispatch was not switched on for production."""

    code = "dispatch_not_configured"
    status = 503


class LegNotMovable(Conflict):
    """This leg cannot make that move."""

    code = "invalid_transition"


class DispatchBusy(Conflict):
    """A dispatch of this booking is running right now; try again in a moment."""

    code = "conflict"


__all__ = ["DispatchBusy", "DispatchNotConfigured", "LegNotMovable", "NotDispatchable", "PermissionDenied"]

"""Who did it, from where: the audit context read by every history row and audit record.

In a request the middleware sets it from the request; tasks and management commands set it explicitly
with `acting_as(...)`, so history rows written outside a request still name their actor.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
from dataclasses import dataclass
from typing import Any

from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record
from simple_history.utils import bulk_create_with_history


@dataclass(frozen=True)
class AuditContext:
    user: Any = None
    ip_address: str | None = None
    user_agent: str = ""
    request: Any = None

    def resolved_user(self):
        if self.user is not None:
            return self.user
        user = getattr(self.request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return user
        return None


_current: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "audit_context", default=AuditContext()  # noqa: B039 (frozen dataclass: immutable)
)


def current() -> AuditContext:
    return _current.get()


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = N the address N hops from the right
    of X-Forwarded-For (what our own proxies appended; anything left of it is client-supplied and spoofable)."""
    from django.conf import settings

    hops = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops > 0 and forwarded:
        parts = [p.strip() for p in forwarded.split(",") if p.strip()]
        candidate = parts[-hops] if len(parts) >= hops else parts[0]
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None


@contextlib.contextmanager
def acting_as(user=None, *, ip_address: str | None = None, user_agent: str = "", request=None):
    """Run a block with the given actor recorded on every history row and audit entry it writes."""
    if request is not None:
        ip_address = ip_address or client_ip(request)
        user_agent = user_agent or request.META.get("HTTP_USER_AGENT", "")[:400]
    token = _current.set(AuditContext(user=user, ip_address=ip_address, user_agent=user_agent, request=request))
    try:
        yield
    finally:
        _current.reset(token)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_as(request=request):
            return self.get_response(request)


def history_user_getter(instance=None, request=None, **kwargs):
    explicit = getattr(instance, "_history_user", None)
    if explicit is not None:
        return explicit
    return current().resolved_user()


@receiver(pre_create_historical_record)
def _stamp_ip_and_agent(sender, history_instance, **kwargs):
    ctx = current()
    if hasattr(history_instance, "ip_address"):
        history_instance.ip_address = ctx.ip_address
        history_instance.user_agent = (ctx.user_agent or "")[:400]


def set_actor(instance, actor) -> None:
    """Name the acting user on the history row `instance.save()` writes (None: keep the audit context's)."""
    if actor is not None:
        instance._history_user = actor


def bulk_create_audited(model, rows: list, *, actor=None) -> list:
    """bulk_create plus one INSERT of their history rows, stamped as a save() would stamp them (user, IP, agent).

    A plain bulk_create writes no history (simple-history hooks save(), which it bypasses).
    """
    ctx = current()
    return bulk_create_with_history(
        rows, model, default_user=actor or ctx.resolved_user(),
        custom_historical_attrs={"ip_address": ctx.ip_address, "user_agent": (ctx.user_agent or "")[:400]},
    )

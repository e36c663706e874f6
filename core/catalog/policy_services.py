"""Publishing a change policy version: a new row, never an edit of one that bookings were sold under."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Max

from core.catalog.change_pricing import parse_tiers
from core.catalog.errors import PolicyInvalid
from core.catalog.policy_models import ChangePolicy
from core.common.audit import set_actor
from core.common.errors import Conflict
from core.common.services import model_update


def change_policy_problems(*, cancellation_tiers, reschedule_free_hours: int | None,
                           reschedule_cutoff_hours: int | None) -> dict[str, list[str]]:
    """What is wrong with a policy draft, by field (empty when it can be published); tiers of None are not
    checked (a model form already checks them through ChangePolicy.clean)."""
    problems: dict[str, list[str]] = {}
    if cancellation_tiers is not None:
        try:
            parse_tiers(cancellation_tiers)
        except PolicyInvalid as exc:
            # a tier's problem names the tier ("cancellation_tiers.1: …"); the list's own says what to do
            problems["cancellation_tiers"] = [
                f"{path}: {' '.join(msgs)}" if path != "cancellation_tiers"
                else (exc.message if msgs == ["Required."] else " ".join(msgs))
                for path, msgs in exc.fields.items()]
    if reschedule_free_hours is not None and reschedule_cutoff_hours is not None \
            and reschedule_cutoff_hours > reschedule_free_hours:
        problems["reschedule_cutoff_hours"] = ["The cutoff must not be later than the free-change limit "
                                               "(cutoff hours ≤ free hours)."]
    return problems


def _lock_policy_table() -> None:
    """Queue publishers (SHARE ROW EXCLUSIVE conflicts with itself, not with readers or bookings' FK reads)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {ChangePolicy._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


def change_policy_publish(*, name: str, cancellation_tiers: list[dict], reschedule_free_hours: int,
                          reschedule_fee: Decimal, reschedule_cutoff_hours: int, actor=None) -> ChangePolicy:
    """Publish the next version and make it the one new bookings are sold under.

    Earlier versions stay as they were: bookings keep the version they were sold under (Booking.change_policy).
    Publishers queue on a table lock taken first (a lock on the active row is not enough: two publishers that
    waited on it both find no active row once the first commits, pick the same version and deadlock on the
    unique indexes). SQLite's IMMEDIATE transactions already serialise writers. Should a version number still
    collide, the loser is told to try again rather than silently overwriting.
    """
    problems = change_policy_problems(cancellation_tiers=cancellation_tiers,
                                      reschedule_free_hours=reschedule_free_hours,
                                      reschedule_cutoff_hours=reschedule_cutoff_hours)
    if problems:
        raise PolicyInvalid("The change policy is not valid.", fields=problems)
    try:
        with transaction.atomic():
            _lock_policy_table()
            current = list(ChangePolicy.objects.filter(is_active=True))  # the table lock covers it
            version = (ChangePolicy.objects.aggregate(last=Max("version"))["last"] or 0) + 1
            for old in current:
                model_update(instance=old, fields=["is_active"], data={"is_active": False}, actor=actor)
            policy = ChangePolicy(version=version, name=name, cancellation_tiers=cancellation_tiers,
                                  reschedule_free_hours=reschedule_free_hours, reschedule_fee=reschedule_fee,
                                  reschedule_cutoff_hours=reschedule_cutoff_hours, is_active=True)
            policy.full_clean(validate_unique=False, validate_constraints=False)
            set_actor(policy, actor)
            policy.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict("Another version of the change policy was published at the same time; reload and "
                       "try again.") from exc
    return policy

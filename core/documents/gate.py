"""The COI gate: a booking with `coi_required` waits until every building on it that requires a certificate
has a valid (or admin-waived) one. One rule in core; dispatch, scheduling and the confirmation page ask it."""

from __future__ import annotations

from dataclasses import dataclass

from core.documents.buildings import booking_buildings
from core.documents.models import COI, BuildingRole, COIStatus, COIWaiver

PASSING = (COIStatus.VALID, COIStatus.WAIVED)


@dataclass(frozen=True)
class Blocker:
    building_role: str  # "pickup" / "dropoff", or "" when the building is not one we know
    code: str  # coi_missing | coi_pending | coi_invalid | coi_expired
    message: str


def coi_gate_blockers(booking) -> list[Blocker]:
    """What still stands between the booking and dispatch (empty: the gate is passed). Three queries."""
    if not booking.coi_required:
        return []
    buildings = {role: b for role, b in booking_buildings(booking).items() if b.requires_coi}
    waived = set(COIWaiver.objects.filter(booking=booking).values_list("building_role", flat=True))
    cois = list(COI.objects.filter(booking=booking, document__deleted_at=None).order_by("-created_at"))
    if not buildings:  # the customer said a COI is needed, for a building we have no record of
        if waived or any(c.status in PASSING for c in cois):
            return []
        return [_blocker("", cois, "the building")]
    blockers = []
    for role, building in buildings.items():
        if role in waived:
            continue
        mine = [c for c in cois if c.building_id == building.pk]
        if not any(c.status in PASSING for c in mine):
            blockers.append(_blocker(role, mine, building.name))
    return blockers


def _blocker(role: str, cois: list[COI], where: str) -> Blocker:
    latest = cois[0] if cois else None
    if latest is None:
        return Blocker(role, "coi_missing", f"No certificate of insurance for {where} yet.")
    if latest.status == COIStatus.PENDING:
        return Blocker(role, "coi_pending", f"The certificate for {where} is waiting for review.")
    if latest.status == COIStatus.EXPIRED:
        return Blocker(role, "coi_expired", f"The certificate for {where} has expired or ends before the move.")
    return Blocker(role, "coi_invalid", f"The certificate for {where} does not meet its requirements.")


def coi_gate_passed(booking) -> bool:
    return not coi_gate_blockers(booking)


def coi_gate_check(booking) -> None:
    """Raise COIGateClosed (409 coi_required) listing what is missing, unless the gate is passed."""
    from core.documents.errors import COIGateClosed

    blockers = coi_gate_blockers(booking)
    if blockers:
        raise COIGateClosed(" ".join(b.message for b in blockers),
                            fields={"coi": [b.code for b in blockers]})


__all__ = ["Blocker", "BuildingRole", "coi_gate_blockers", "coi_gate_check", "coi_gate_passed"]

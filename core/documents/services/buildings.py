"""Buildings: saved with their normalised address (the key bookings are matched by)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from core.common.audit import set_actor
from core.documents.buildings import normalize_address
from core.documents.errors import DocumentValidationError
from core.documents.models import Building


def building_save(*, building: Building, actor=None) -> Building:
    """Create or update a building (the console's form); two buildings cannot share an address."""
    building.normalized_address = normalize_address(building.line1, building.zip_code)
    weekdays = building.move_weekdays or []
    if any(not isinstance(d, int) or not 1 <= d <= 7 for d in weekdays):
        raise DocumentValidationError("Move days are ISO weekdays 1–7.", fields={"move_weekdays": ["Use 1–7."]})
    building.move_weekdays = sorted(set(weekdays))
    building.full_clean(exclude=["normalized_address"])
    set_actor(building, actor)
    try:
        with transaction.atomic():
            building.save()
    except IntegrityError as exc:
        raise DocumentValidationError("Another building has this address.",
                                      fields={"line1": ["Another building has this address."]}) from exc
    return building

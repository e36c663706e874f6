"""Helpers shared by the areas' services."""

from typing import Any

from django.db import models


def model_update(*, instance: models.Model, data: dict[str, Any], fields: list[str]) -> tuple[models.Model, bool]:
    """Set the given fields from `data` and save only what changed (one history row, no bare update())."""
    changed = []
    for name in fields:
        if name in data and getattr(instance, name) != data[name]:
            setattr(instance, name, data[name])
            changed.append(name)
    if changed:
        instance.full_clean(exclude=[f.name for f in instance._meta.fields if f.name not in changed])
        if any(f.name == "updated_at" for f in instance._meta.fields):
            changed.append("updated_at")
        instance.save(update_fields=changed)
    return instance, bool(changed)

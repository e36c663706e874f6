"""Write helpers every area's services share."""

from __future__ import annotations

from typing import Any

from core.common.audit import set_actor

_UNSET = object()


def model_update(*, instance, fields: list[str], data: dict[str, Any] | None = None, actor=None) -> bool:
    """Set `data` on `instance`, validate and save only `fields` (+ updated_at); returns whether anything changed.

    HackSoft's shape: the caller names the fields it may write, so a service never saves a column it did not
    mean to (and the history row names `actor`). `data` may be omitted when the caller already set the
    attributes (e.g. under a row lock, computed from the locked row): then every listed field is saved.
    Field validation runs (`full_clean` on the listed fields only); uniqueness and constraints are left to
    the database, which checks them atomically.
    """
    if data:
        unknown = set(data) - set(fields)
        if unknown:
            raise ValueError(f"model_update: {sorted(unknown)} not in fields {fields}")
        changed = [f for f in fields if f in data and getattr(instance, f, _UNSET) != data[f]]
        for name in changed:
            setattr(instance, name, data[name])
    else:
        changed = list(fields)
    if not changed:
        return False
    names = {f.name for f in instance._meta.concrete_fields}
    exclude = [name for name in names if name not in changed]
    instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    update_fields = list(changed)
    if "updated_at" in names and "updated_at" not in update_fields:
        update_fields.append("updated_at")
    set_actor(instance, actor)
    instance.save(update_fields=update_fields)
    return True

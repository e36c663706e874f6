"""Stripe's list endpoints as the fake serves them: newest first, cursors, ``created`` ranges, ``data.`` expands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.stripe_objects import StripeObjects
from tests.fakes.stripe_wire import (
    LIST_BASE_PARAMS,
    check_params,
    expand_paths,
    int_param,
    invalid,
    missing,
    str_param,
)


class StripeLists(StripeObjects):

    def _filtered_list(self, params: dict[str, Any], kind: str, url: str, filters: tuple[str, ...]) -> dict[str, Any]:
        """GET /v1/<kind>s: every object of the kind, narrowed by each filter parameter given."""
        check_params(params, LIST_BASE_PARAMS | set(filters))
        items = [o for o in self._objects.values() if o["object"] == kind]
        for name in filters:
            value = str_param(params, name)
            if value:
                items = [o for o in items if o[name] == value]
        return self._list(items, params, url, kind)

    def _list(
        self, items: list[dict[str, Any]], params: dict[str, Any], url: str, kind: str
    ) -> dict[str, Any]:
        limit = int_param(params, "limit", default=10)
        assert limit is not None
        if not 1 <= limit <= 100:
            raise invalid(
                "This value must be between 1 and 100.", param="limit", code="parameter_invalid_integer"
            )
        created = params.get("created")
        if isinstance(created, str):
            exact = int_param(params, "created")
            items = [o for o in items if o["created"] == exact]
        elif isinstance(created, dict):
            check_params(created, {"gt", "gte", "lt", "lte"})
            bounds = {op: int_param(created, op) for op in ("gt", "gte", "lt", "lte")}
            tests: dict[str, Callable[[int, int], bool]] = {
                "gt": lambda a, b: a > b,
                "gte": lambda a, b: a >= b,
                "lt": lambda a, b: a < b,
                "lte": lambda a, b: a <= b,
            }
            for op, bound in bounds.items():
                if bound is not None:
                    items = [o for o in items if tests[op](o["created"], bound)]
        elif created is not None:
            raise invalid("Invalid created", param="created")

        # Stripe lists newest first; ties broken by creation order so cursors are stable.
        items.sort(key=lambda o: (o["created"], self._seq[o["id"]]), reverse=True)
        starting_after = str_param(params, "starting_after")
        ending_before = str_param(params, "ending_before")
        if starting_after and ending_before:
            raise invalid("You may only specify one of these parameters: starting_after, ending_before.")
        if starting_after:
            cursor = self._objects.get(starting_after)
            if cursor is None or cursor["object"] != kind:
                raise missing(kind, starting_after, "starting_after")
            key = (cursor["created"], self._seq[cursor["id"]])
            after = [o for o in items if (o["created"], self._seq[o["id"]]) < key]
            page, has_more = after[:limit], len(after) > limit
        elif ending_before:
            cursor = self._objects.get(ending_before)
            if cursor is None or cursor["object"] != kind:
                raise missing(kind, ending_before, "ending_before")
            key = (cursor["created"], self._seq[cursor["id"]])
            before = [o for o in items if (o["created"], self._seq[o["id"]]) > key]
            page, has_more = before[-limit:], len(before) > limit
        else:
            page, has_more = items[:limit], len(items) > limit

        expand = []
        for path in expand_paths(params):
            if not path.startswith("data."):
                raise invalid(f"This property cannot be expanded ({path}).", param="expand")
            expand.append(path[len("data.") :])
        return {
            "object": "list",
            "data": [self._render(o, expand) for o in page],
            "has_more": has_more,
            "url": url,
        }

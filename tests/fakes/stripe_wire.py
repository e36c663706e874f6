"""Stripe's v1 wire format as the fake speaks it: nested form parameters, typed parameter checks, error bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, NamedTuple

API_VERSION = "2025-01-01.fake"
LIST_BASE_PARAMS = frozenset({"limit", "starting_after", "ending_before", "created", "expand"})


class LoggedRequest(NamedTuple):
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None


@dataclass(eq=False)
class FakeStripeError(Exception):
    """Raised inside endpoint handlers; rendered as a Stripe error body.

    ``stored=False`` marks validation failures, whose result Stripe does not keep under the idempotency
    key (the endpoint never started executing).
    """

    status: int
    message: str
    _: KW_ONLY
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    decline_code: str | None = None
    stored: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            err["param"] = self.param
        if self.decline_code:
            err["decline_code"] = self.decline_code
        err.update(self.extra)
        return {"error": err}


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> FakeStripeError:
    return FakeStripeError(400, message, param=param, code=code, stored=False)


def missing(kind: str, obj_id: str, param: str = "id") -> FakeStripeError:
    return FakeStripeError(
        404, f"No such {kind}: '{obj_id}'", code="resource_missing", param=param, stored=True
    )


# ------------------------------------------------------------------------------------- form decoding

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SUBKEY_RE = re.compile(r"\[([^\[\]]*)\]")
_NO_LISTIFY = frozenset({"metadata"})  # metadata keys may be digits; never turn it into a list


def parse_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Decode Stripe/Rack-style nested form keys into dicts and lists.

    ``a[b]=1`` → ``{"a": {"b": "1"}}``; ``x[]=1&x[]=2`` and ``x[0]=1&x[1]=2`` → ``{"x": ["1", "2"]}``.
    Values stay strings, as on the wire.
    """
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        m = _KEY_RE.match(raw_key)
        if not m:
            raise invalid(f"Invalid parameter name: {raw_key}", param=raw_key)
        tokens = [m.group(1), *_SUBKEY_RE.findall(m.group(2))]
        node: dict[str, Any] = root
        for i, token in enumerate(tokens):
            last = i == len(tokens) - 1
            key = str(len(node)) if token == "" else token
            if last:
                if isinstance(node.get(key), dict):
                    raise invalid(f"Invalid parameter: {raw_key} is both a hash and a value", param=raw_key)
                node[key] = value
            else:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    if child == "":
                        # `metadata=` followed by `metadata[k]=v`; treat the blank as an empty hash.
                        child = node[key] = {}
                    else:
                        raise invalid(
                            f"Invalid parameter: {raw_key} is both a value and a hash", param=raw_key
                        )
                node = child
    return _listify(root, None)


def _listify(value: Any, name: str | None) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v, k) for k, v in value.items()}
    if name not in _NO_LISTIFY and converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


# ------------------------------------------------------------------------------------ value coercion


def check_params(params: Mapping[str, Any], allowed: Iterable[str]) -> None:
    allowed_set = set(allowed)
    for key in params:
        if key not in allowed_set:
            raise invalid(f"Received unknown parameter: {key}", param=key, code="parameter_unknown")


def int_param(
    params: Mapping[str, Any], name: str, *, required: bool = False, default: int | None = None
) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
        return default
    if isinstance(raw, dict | list) or not re.fullmatch(r"-?\d+", raw):
        raise invalid(f"Invalid integer: {raw}", param=name, code="parameter_invalid_integer")
    return int(raw)


def bool_param(params: Mapping[str, Any], name: str, default: bool = False) -> bool:
    raw = params.get(name)
    if raw is None:
        return default
    if raw in ("true", "false"):
        return raw == "true"
    raise invalid(f"Invalid boolean: {raw}", param=name, code="parameter_invalid_boolean")


def str_param(params: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    raw = params.get(name)
    if raw is None:
        if required:
            raise invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
        return None
    if not isinstance(raw, str):
        raise invalid(f"Invalid string: {raw!r}", param=name, code="parameter_invalid_string")
    return raw


def enum_param(params: Mapping[str, Any], name: str, choices: Iterable[str]) -> str | None:
    raw = str_param(params, name)
    if raw is None or raw == "":
        return None
    options = tuple(choices)
    if raw not in options:
        raise invalid(
            f"Invalid {name}: must be one of {', '.join(options)}",
            param=name,
            code="parameter_invalid_string",
        )
    return raw


def metadata_param(params: Mapping[str, Any], current: Mapping[str, str] | None = None) -> dict[str, str]:
    result = dict(current or {})
    raw = params.get("metadata")
    if raw is None:
        return result
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid("Invalid hash", param="metadata", code="parameter_invalid_hash")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise invalid("Metadata values must be strings.", param=f"metadata[{key}]")
        if len(key) > 40:
            raise invalid("Metadata keys can have up to 40 characters.", param=f"metadata[{key}]")
        if len(value) > 500:
            raise invalid("Metadata values can have up to 500 characters.", param=f"metadata[{key}]")
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    if len(result) > 50:
        raise invalid("You can have up to 50 metadata keys.", param="metadata")
    return result


def expand_paths(params: Mapping[str, Any]) -> list[str]:
    raw = params.get("expand")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        return list(raw)
    raise invalid("Invalid array", param="expand", code="parameter_invalid_array")


def money(cents: int) -> str:
    return f"${cents / 100:,.2f}"



def to_json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, indent=2).encode("utf-8")


def injected_error(status: int) -> tuple[int, bytes]:
    if status == 409:
        err = FakeStripeError(
            409,
            "This object cannot be accessed right now because another API request or Stripe process is "
            "currently accessing it.",
            code="lock_timeout",
        )
    elif status == 429:
        err = FakeStripeError(
            429,
            "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        )
    else:
        err = FakeStripeError(
            status, "Something went wrong on Stripe's end. (injected by the fake)", type="api_error"
        )
    return err.status, to_json(err.body())


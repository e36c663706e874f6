"""Quotes: a priced request stored so booking_create can honour it until it expires."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.bookings.errors import (
    QuoteExpired,
    QuoteMismatch,
    QuoteNotFound,
)
from core.bookings.models import (
    Booking,
    Quote,
)
from core.bookings.requests import BookingRequest
from core.bookings.services.rules import Bookability, request_bookability, validate_request
from core.catalog.pricing import PriceBreakdown, calculate_price
from core.catalog.selectors import (
    PricingState,
    catalog_snapshot,
    pricing_state_as_last_read,
)


def quote_create(*, request: BookingRequest, now: dt.datetime | None = None) -> Quote:
    """Price the request and store it as a quote that booking_create honours until it expires.

    Usually one statement: the request is priced with the catalog and van schedule as this process last read
    them for the date, and the INSERT itself checks that they are still current. Only when they are not (or
    were never read) does it read them (one query), price again and insert. The quote's `breakdown` is the
    contract's price JSON, ready to return.
    """
    now = now or timezone.now()
    validate_request(request, require_contact=False, now=now)
    return _quote_store(request, now=now, state=pricing_state_as_last_read(request.pickup_date))


@dataclass(frozen=True)
class QuotePreview:
    breakdown: dict  # the contract's price JSON
    bookability: Bookability
    quote: Quote | None  # None when the date cannot be booked: a quote that could never be honoured is not kept


def quote_preview(*, request: BookingRequest, now: dt.datetime | None = None) -> QuotePreview:
    """bookings/preview: the price, whether the date can be booked and, when it can, the quote that holds the price.

    Warm, two statements: the date's availability (one read) and quote_create's INSERT. A date that cannot be
    booked is priced on a fresh read of the catalog and stores nothing.
    """
    now = now or timezone.now()
    validate_request(request, require_contact=False, now=now)
    state = pricing_state_as_last_read(request.pickup_date)
    snapshot = state.snapshot if state is not None else catalog_snapshot(request.pickup_date)
    bookability = request_bookability(request, items=snapshot.specialty_items, now=now)
    if not bookability.bookable:
        fresh = snapshot if state is None else catalog_snapshot(request.pickup_date)
        return QuotePreview(calculate_price(request.price_request(), fresh).as_json(), bookability, None)
    # a cold read above was remembered: quote_create then prices on it and checks it is still current
    quote = _quote_store(request, now=now, state=pricing_state_as_last_read(request.pickup_date))
    return QuotePreview(quote.breakdown, bookability, quote)


def _quote_store(request: BookingRequest, *, now: dt.datetime, state: PricingState | None) -> Quote:
    price_request = request.price_request()
    canonical = request.pricing_canonical()
    request_hash = request.pricing_hash(canonical)
    expires_at = now + dt.timedelta(minutes=int(settings.TOTETAXI["QUOTE_MINUTES"]))
    if state is not None:
        quote = _quote(calculate_price(price_request, state.snapshot), request_hash, canonical, now, expires_at)
        if quote_insert(quote, unless_changed=state):
            return quote
    quote = _quote(calculate_price(price_request, catalog_snapshot(request.pickup_date)), request_hash, canonical,
                   now, expires_at)
    quote_insert(quote)
    return quote


def _quote(breakdown: PriceBreakdown, request_hash: str, canonical: dict, now: dt.datetime,
           expires_at: dt.datetime) -> Quote:
    return Quote(id=uuid.uuid4(), request_hash=request_hash, request={"pricing_hash": request_hash, **canonical},
                 breakdown=breakdown.as_json(), total_price=breakdown.total_price, expires_at=expires_at,
                 created_at=now, updated_at=now)


_QUOTE_COLUMNS = ("id", "created_at", "updated_at", "request_hash", "request", "breakdown", "total_price",
                  "expires_at")


def quote_insert(quote: Quote, *, unless_changed: PricingState | None = None) -> bool:
    """One plain INSERT (a quote has no history or signals; this is the preview endpoint's only write).

    With `unless_changed`, the row is written only if the catalog version and the date's van-schedule
    override are still those the quote was priced with, checked in this statement; False when they were not.
    On PostgreSQL, when the statement is its own transaction (autocommit), it commits without waiting for the
    WAL flush: a quote lost to a database crash costs the customer one more preview. Bookings never do this.
    """
    fields = [Quote._meta.get_field(name) for name in _QUOTE_COLUMNS]
    values = [f.get_db_prep_value(getattr(quote, f.attname), connection) for f in fields]
    columns = ", ".join(f.column for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = Quote._meta.db_table
    sources, condition, params = [], "", values
    if unless_changed is not None:
        check_from, from_params, check_where, where_params = unless_changed.still_current()
        sources.append(check_from)
        condition = f" WHERE {check_where}"
        params = [*values, *from_params, *where_params]
    if connection.vendor == "postgresql" and connection.get_autocommit():
        sources.append("(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit")
    if sources:
        sql = f"INSERT INTO {table} ({columns}) SELECT {placeholders} FROM {', '.join(sources)}{condition}"  # noqa: S608
    else:
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 (our names)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


QUOTE_RETENTION = dt.timedelta(days=1)


def quote_purge(*, now: dt.datetime | None = None, batch_size: int = 5000) -> int:
    """Delete quotes expired for over a day that no booking was made from; returns how many.

    Every preview writes one, so the table would otherwise grow with every price the site shows. Quotes a
    booking points at are kept (they are its price's record). Deletes in batches to keep each one short.
    """
    cutoff = (now or timezone.now()) - QUOTE_RETENTION
    used = Booking.objects.filter(quote_id=OuterRef("pk"))
    stale = Quote.objects.filter(expires_at__lt=cutoff).exclude(Exists(used)).order_by()
    deleted = 0
    while ids := list(stale.values_list("pk", flat=True)[:batch_size]):
        deleted += Quote.objects.filter(pk__in=ids).delete()[0]
    return deleted


def quoted_breakdown(request: BookingRequest, *, now: dt.datetime) -> tuple[Quote, dict]:
    try:
        quote = Quote.objects.get(pk=uuid.UUID(str(request.quote_id)))
    except (Quote.DoesNotExist, ValueError) as exc:
        raise QuoteNotFound("No such quote; request a new preview.", fields={"quote_id": ["Unknown quote."]}) \
            from exc
    if quote.expires_at <= now:
        raise QuoteExpired("The quote has expired; request a new preview.", fields={"quote_id": ["Expired."]})
    if quote.request_hash != request.pricing_hash():
        raise QuoteMismatch("The quote was made for a different booking request.",
                            fields={"quote_id": ["Does not match this request."]})
    return quote, quote.breakdown

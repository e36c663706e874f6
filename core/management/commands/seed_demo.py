"""Realistic demo data: customers and ~500 bookings over the past 90 days and next 30, in every status."""

from __future__ import annotations

import datetime as dt
import random

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from core.bookings.models import Booking, BookingStatus
from core.bookings.requests import BookingRequest
from core.bookings.services import booking_create, booking_transition
from core.catalog.models import MiniMovePackage, SpecialtyItem
from core.common.audit import acting_as
from core.common.errors import DomainError
from core.customers.services import AddressData, CustomerData
from core.notifications.services import notify_booking_event
from core.payments.services import payment_record_test_mode

FIRST = ["Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Avery", "Quinn", "Harper", "Emerson", "Sloane",
         "Blake", "Reese", "Parker", "Hayden", "Rowan", "Sasha", "Devon", "Logan", "Charlie", "Margot", "Theo",
         "Olivia", "Henry", "Isla", "Miles", "Clara", "Felix", "Nora", "Julian"]
LAST = ["Morgan", "Whitman", "Sterling", "Hale", "Vance", "Kensington", "Ashford", "Brooks", "Carrington",
        "Delaney", "Ellison", "Fairbanks", "Grayson", "Holloway", "Iverson", "Langley", "Mercer", "Prescott",
        "Radcliffe", "Thornton", "Van Allen", "Winslow", "Rhodes", "Castellano"]
NYC = [("245 East 72nd Street", "New York", "10021"), ("88 Perry Street", "New York", "10014"),
       ("15 Central Park West", "New York", "10023"), ("200 Chambers Street", "New York", "10007"),
       ("1 Main Street", "Brooklyn", "11201"), ("400 West End Avenue", "New York", "10024"),
       ("50 Riverside Boulevard", "New York", "10069"), ("135 East 79th Street", "New York", "10075")]
HAMPTONS = [("27 Further Lane", "East Hampton", "11937"), ("112 Job's Lane", "Southampton", "11968"),
            ("9 Ocean Road", "Bridgehampton", "11932"), ("45 Main Street", "Sag Harbor", "11963"),
            ("301 Dune Road", "Westhampton Beach", "11978"), ("18 Old Montauk Highway", "Montauk", "11954"),
            ("6 Sagaponack Road", "Sagaponack", "11962"), ("70 Daniels Lane", "Water Mill", "11976")]


class Command(BaseCommand):
    help = "Create realistic, deterministic demo bookings (needs the catalog: manage.py loaddata catalog)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2027)
        parser.add_argument("--bookings", type=int, default=500)
        parser.add_argument("--customers", type=int, default=180)
        parser.add_argument("--force", action="store_true", help="Seed even if bookings already exist.")

    def handle(self, *args, seed: int, bookings: int, customers: int, force: bool, **options):
        if Booking.objects.exists() and not force:
            self.stdout.write("Demo data already present; skipping (use --force to add more).")
            return
        rng = random.Random(seed)
        packages = list(MiniMovePackage.objects.filter(is_active=True))
        specialty = list(SpecialtyItem.objects.filter(is_active=True))
        if not packages:
            self.stderr.write("No catalog: run `manage.py loaddata catalog` first.")
            return
        people = []
        for i in range(customers):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            people.append(CustomerData(
                name=f"{first} {last}",
                email=f"{first}.{last}.{i}@example.com".lower().replace(" ", ""),
                phone=f"+1212555{rng.randint(0, 9999):04d}",
            ))
        real_now = timezone.now()
        today = timezone.localdate(real_now)
        created = 0
        with acting_as(None, user_agent="manage.py seed_demo"):
            for _ in tqdm(range(bookings), desc="demo bookings", unit="booking"):
                created += self._one(rng, people, packages, specialty, today, real_now)
            # The latest upcoming paid bookings get their confirmation messages, as a real payment would send.
            upcoming_paid = Booking.objects.filter(status__in=[BookingStatus.PAID, BookingStatus.SCHEDULED],
                                                   pickup_date__gt=today).order_by("-created_at")[:10]
            for booking in upcoming_paid:
                notify_booking_event(booking=booking, event="payment_confirmation")
        self.stdout.write(self.style.SUCCESS(f"Created {created} demo bookings."))

    def _one(self, rng, people, packages, specialty, today, real_now) -> int:
        offset = rng.randint(-90, 30)
        pickup = today + dt.timedelta(days=offset)
        lead_days = rng.randint(2, 21)
        created_at = timezone.make_aware(
            dt.datetime.combine(pickup - dt.timedelta(days=lead_days), dt.time(rng.randint(8, 16), rng.randint(0, 59)))
        )
        pending = offset > 1 and rng.random() < 0.12
        if pending:  # an unpaid hold is only minutes old (the sweeper cancels older ones)
            created_at = real_now - dt.timedelta(minutes=rng.randint(1, 25))
        elif created_at > real_now:  # booked earlier than its lead time says: spread over the last two weeks
            created_at = real_now - dt.timedelta(days=rng.randint(0, 14), minutes=rng.randint(30, 600))
        kind = rng.choices(["mini_move", "standard", "specialty"], weights=[55, 30, 15])[0]
        package = rng.choice(packages) if kind == "mini_move" else None
        items: tuple = ()
        if kind == "specialty" or (kind == "mini_move" and rng.random() < 0.2):
            items = ((rng.choice(specialty).code, rng.randint(1, 2)),)
        item_count = {"mini_move": rng.randint(4, package.max_items or 45) if package else 0,
                      "standard": rng.randint(1, 8), "specialty": 0}[kind]
        nyc, hamptons = rng.choice(NYC), rng.choice(HAMPTONS)
        legs = [nyc, hamptons] if rng.random() < 0.6 else [hamptons, nyc]
        request = BookingRequest(
            booking_type=kind, pickup_date=pickup, pickup_window=rng.choice(["morning", "afternoon", "flexible"]),
            package=package.code if package else None, item_count=item_count, specialty_items=items,
            coi_required=rng.random() < 0.35, customer=rng.choice(people),
            pickup_address=AddressData(line1=legs[0][0], city=legs[0][1], state="NY", zip_code=legs[0][2]),
            dropoff_address=AddressData(line1=legs[1][0], city=legs[1][1], state="NY", zip_code=legs[1][2]),
            notes=rng.choice(["", "", "Doorman building, use service entrance.", "Call on arrival.",
                              "Fragile artwork in two boxes."]),
        )
        try:
            with transaction.atomic():
                booking, _token = booking_create(request=request, now=created_at)
                booking.created_at = created_at
                booking.save(update_fields=["created_at"])
                self._advance(rng, booking, offset, pending, created_at)
        except DomainError as exc:  # a full date or a rule the random request broke: skip it, like a customer
            self.stderr.write(f"skipped one booking: {exc}")
            return 0
        return 1

    def _advance(self, rng, booking, offset, pending, created_at):
        if pending:
            return
        if rng.random() < 0.07:
            booking_transition(booking=booking, to_status=BookingStatus.CANCELLED,
                               reason=rng.choice(["Customer changed plans", "hold_expired", "Duplicate booking"]),
                               now=created_at + dt.timedelta(hours=1))
            return
        path = [BookingStatus.PAID]
        if offset <= 7:
            path.append(BookingStatus.SCHEDULED)
        if offset <= 0:
            path.append(BookingStatus.IN_PROGRESS)
        if offset < 0:
            path.append(BookingStatus.COMPLETED)
        payment_record_test_mode(booking=booking, now=created_at)
        for status in path:
            booking = booking_transition(booking=booking, to_status=status, now=created_at)

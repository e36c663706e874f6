"""Demo data that tells a true story: ~500 bookings over the past 90 days and the next 30, made and run through
the same services as real ones, each step stamped at the New York hour it happened (see demo/story.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import time

from django.core.management.base import BaseCommand
from django.test.utils import override_settings
from django.utils import timezone

from core.bookings.change_overrides import ChangeOverride
from core.bookings.changes import booking_cancel_preview, booking_cancel_with_quote
from core.bookings.models import Booking, BookingStatus
from core.bookings.services import booking_cancel, booking_create, booking_expire_holds, booking_transition
from core.bookings.services.status import MONEY_HELD
from core.catalog.models import MiniMovePackage, SpecialtyItem
from core.common.audit import acting_as
from core.common.errors import DomainError
from core.documents.services import coi_waive_building
from core.logistics.models import LegKind, LegStatus
from core.logistics.services import dispatch_request, leg_local_move
from core.management.demo import people, story
from core.management.demo.staff import demo_staff_ensure
from core.notifications.services import notifications_send_due, notify_booking_event
from core.payments.selectors import payment_list_for_booking
from core.payments.services import payment_record_test_mode, refund_issue
from core.reporting.services import daily_metrics_compute

AGENT = "manage.py seed_demo"
METRIC_DAYS = 30
DRIVERS = ("Luis Ortega", "Kim Nguyen", "Sam Patel", "Jo Brennan")


@contextlib.contextmanager
def _at(moment: dt.datetime):
    """Run the services with the clock at `moment`.

    The services stamp "now" in many places (created_at/updated_at, history rows, status changes, payments,
    audit rows, notification sends), so rather than rewriting those columns afterwards (bare updates that
    history would not show, on a dozen tables) the seed sets the clock itself, the least surprising way to
    backdate: every row is written once, by the service, with the time the story says. The clock stands
    still (tick=False) so the same --seed at the same moment gives the same data.
    """
    import time_machine  # the demo's only use of it: imported here so the web process never loads it

    with time_machine.travel(moment, tick=False):
        yield


@contextlib.contextmanager
def _sending_as_it_happens():
    """Messages go out at their step's time instead of piling into the job queue for the consumer to send
    at once when the demo starts. They were "sent" months ago, so they go nowhere (dummy email backend):
    the demo's email log keeps only what the running demo sends."""
    from huey.contrib.djhuey import HUEY

    immediate, huey_log = HUEY.immediate, logging.getLogger("huey")
    level = huey_log.level
    HUEY.immediate = True
    huey_log.setLevel(logging.WARNING)  # two INFO lines per message sent would bury the command's output
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            yield
    finally:
        HUEY.immediate = immediate
        huey_log.setLevel(level)


class Command(BaseCommand):
    help = "Create realistic, deterministic demo data (needs the catalog: manage.py loaddata catalog)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2027)
        parser.add_argument("--bookings", type=int, default=500)
        parser.add_argument("--customers", type=int, default=180)
        parser.add_argument("--force", action="store_true", help="Seed even if bookings already exist.")

    def handle(self, *args, seed: int, bookings: int, customers: int, force: bool, verbosity: int, **options):
        self.verbosity = verbosity
        if Booking.objects.exists() and not force:
            self.stdout.write("Demo data already present; skipping (use --force to add more).")
            return
        catalog = {
            "packages": list(MiniMovePackage.objects.filter(is_active=True).order_by("pk")
                             .values_list("code", "max_items")),
            "specialty": list(SpecialtyItem.objects.filter(is_active=True).order_by("pk").values_list("code", flat=True)),
        }
        if not catalog["packages"]:
            self.stderr.write("No catalog: run `manage.py loaddata catalog` first.")
            return
        started = time.perf_counter()
        rng = random.Random(seed)
        self.rng = random.Random(seed + 1)  # the drivers: a stream of its own, so the plan stays as it was
        now = timezone.now()
        with acting_as(None, user_agent=AGENT):
            self.staff = demo_staff_ensure()
        plans = story.plan(rng, now=now, count=bookings, catalog=catalog, customers=people.customers(rng, customers))
        with _sending_as_it_happens():
            created = sum(self._play(booking_plan) for booking_plan in plans)
        with acting_as(None, user_agent=AGENT):
            today = timezone.localdate(now)
            for back in range(METRIC_DAYS, -1, -1):  # the finished days the charts show, and today
                daily_metrics_compute(day=today - dt.timedelta(days=back))
        full = f" ({len(plans) - created} more asked for a full date and were turned away)" if created < len(plans) else ""
        self.stdout.write(self.style.SUCCESS(
            f"Created {created} demo bookings{full} and {METRIC_DAYS} days of daily metrics "
            f"in {time.perf_counter() - started:.1f} s."))

    def _play(self, booking_plan: story.BookingPlan) -> int:
        booking = None
        for step in booking_plan.steps:
            with _at(step.at):
                if step.action == "create":
                    try:
                        with acting_as(None, user_agent=AGENT):
                            booking, _token = booking_create(request=booking_plan.request)
                    except DomainError as exc:  # a full date: the customer would have picked another
                        if self.verbosity > 1:
                            self.stderr.write(f"skipped one booking: {exc}")
                        return 0
                else:
                    booking = getattr(self, f"_{step.action}")(booking) or booking
        return 1

    # One method per story step, run with the clock at the step's time. Customers act anonymously; the
    # office's steps name the staff member who took them (history shows who, the user agent says "seed").

    def _pay(self, booking: Booking) -> Booking:
        with acting_as(None, user_agent=AGENT):
            payment_record_test_mode(booking=booking)
            booking = booking_transition(booking=booking, to_status=BookingStatus.PAID)
            notify_booking_event(booking=booking, event="payment_confirmation")
        return booking

    def _expire(self, booking: Booking) -> None:
        with acting_as(None, user_agent=AGENT):
            booking_expire_holds()  # what the every-minute job runs

    def _remind(self, booking: Booking) -> None:
        with acting_as(None, user_agent=AGENT):
            notifications_send_due()  # the every-minute job: the reminder scheduled for this morning

    def _staff_transition(self, booking: Booking, to_status: str) -> Booking:
        ops = self.staff["ops"]
        with acting_as(ops, user_agent=AGENT):
            return booking_transition(booking=booking, to_status=to_status, actor=ops)

    def _schedule(self, booking: Booking) -> Booking:
        """The office checks the certificate (when the building asks for one), then dispatches: the demo runs
        in local dispatch mode, so both legs live in our database and the booking becomes scheduled."""
        ops, admin = self.staff["ops"], self.staff["admin"]
        if booking.coi_required:
            with acting_as(admin, user_agent=AGENT):
                coi_waive_building(booking=booking, building_role="", actor=admin,
                                   reason="Certificate confirmed with the building's managing agent by phone.")
        with acting_as(ops, user_agent=AGENT):
            dispatch_request(booking=booking, actor=ops)
        return Booking.objects.get(pk=booking.pk)

    def _move(self, booking: Booking, kind: str, *statuses: str) -> Booking:
        """A driver's progress, reported to the office and entered on the dispatch board."""
        ops = self.staff["ops"]
        leg = booking.delivery_tasks.get(kind=kind)
        with acting_as(ops, user_agent=AGENT):
            for status in statuses:
                leg = leg_local_move(leg=leg, to_status=status, actor=ops, driver_name=self.driver)
        return Booking.objects.get(pk=booking.pk)

    def _start(self, booking: Booking) -> Booking:
        self.driver = self.rng.choice(DRIVERS)
        return self._move(booking, LegKind.PICKUP, LegStatus.ASSIGNED, LegStatus.IN_PROGRESS)

    def _complete(self, booking: Booking) -> Booking:
        self._move(booking, LegKind.PICKUP, LegStatus.COMPLETED)
        return self._move(booking, LegKind.DROPOFF, LegStatus.ASSIGNED, LegStatus.IN_PROGRESS, LegStatus.COMPLETED)

    def _cancel(self, booking: Booking) -> Booking:
        """The customer called: the office cancels under the change policy, refunding in full as a goodwill
        override (an admin's, as the amount is above what Operations may give on their own)."""
        admin = self.staff["admin"]
        with acting_as(admin, user_agent=AGENT):
            if booking.payment_status not in MONEY_HELD:
                return booking_cancel(booking=booking, actor=admin, reason="Customer called: plans changed.")
            paid = sum(p.refundable_cents for p in payment_list_for_booking(booking=booking))
            quote = booking_cancel_preview(booking=booking, actor=admin, override=ChangeOverride(
                reason="Customer called: plans changed; full refund as a courtesy.", refund_cents=paid))
            return booking_cancel_with_quote(booking=booking, quote_id=quote.pk, actor=admin).booking

    def _refund(self, booking: Booking) -> None:
        """Whatever the cancellation left refundable (nothing after a full-refund cancel) goes back too."""
        admin = self.staff["admin"]
        payment = payment_list_for_booking(booking=booking).first()
        if payment is None or payment.refundable_cents <= 0:
            return
        with acting_as(admin, user_agent=AGENT):
            refund_issue(payment=payment, amount_cents=payment.refundable_cents, reason="requested_by_customer",
                         notes="Cancelled by phone before pickup.", actor=admin)

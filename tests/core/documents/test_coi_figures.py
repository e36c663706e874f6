"""The dashboard's COI figures: "COIs needed" is the gate's own definition in SQL, and certificates expire once."""

import datetime as dt
import itertools
import uuid

import pytest
from django.utils import timezone

from core.bookings.services import booking_create
from core.customers.services import AddressData
from core.documents.expiry import policy_expires_at
from core.documents.gate import coi_gate_blockers
from core.documents.models import COI, Building, COIStatus, COIWaiver, Document, UploadSource
from core.documents.selectors import coi_dashboard, coi_needed_count
from core.documents.services import building_save, coi_update_fields

pytestmark = pytest.mark.django_db
_n = itertools.count(100)


def _address(line1: str) -> AddressData:
    return AddressData(line1=line1, city="New York", state="NY", zip_code="10021")


def _building(line1: str, *, requires_coi: bool = True) -> Building:
    # written the way a building manager would (the match is on the normalised address)
    return building_save(building=Building(name=line1, line1=line1.replace("Street", "St.").upper(),
                                           city="New York", state="NY", zip_code="10021-0001",
                                           requires_coi=requires_coi))


def _coi(booking, *, building=None, status=COIStatus.VALID, deleted=False, expiration=None) -> COI:
    document = Document.objects.create(
        document_type="coi", booking=booking, original_filename="coi.pdf", storage_key=f"k/{uuid.uuid4()}",
        size=1, mime_type="application/pdf", sha256=uuid.uuid4().hex * 2, upload_source=UploadSource.STAFF,
        deleted_at=timezone.now() if deleted else None, expires_at=policy_expires_at(expiration))
    return COI.objects.create(document=document, booking=booking, building=building, status=status,
                              expiration_date=expiration)


@pytest.fixture
def scenario(make_request, future_weekday):
    """Bookings in every state the gate knows, spread over the week from `future_weekday`."""

    def book(*, pickup: str, dropoff: str, coi_required: bool = True, day: int = 0):
        booking, _ = booking_create(request=make_request(
            coi_required=coi_required, pickup_date=future_weekday + dt.timedelta(days=day % 6),
            pickup_address=_address(pickup), dropoff_address=_address(dropoff)))
        return booking

    def fresh() -> str:
        return f"{next(_n)} West {next(_n)}th Street"

    made = {}
    a = _building(pickup := fresh())
    made["no certificate"] = book(pickup=pickup, dropoff=fresh(), day=0)
    made["valid certificate"] = book(pickup=pickup, dropoff=fresh(), day=1)
    _coi(made["valid certificate"], building=a)
    made["pending certificate"] = book(pickup=pickup, dropoff=fresh(), day=2)
    _coi(made["pending certificate"], building=a, status=COIStatus.PENDING)
    made["deleted certificate"] = book(pickup=pickup, dropoff=fresh(), day=3)
    _coi(made["deleted certificate"], building=a, deleted=True)
    made["another building's certificate"] = book(pickup=pickup, dropoff=fresh(), day=4)
    _coi(made["another building's certificate"], building=_building(fresh()))
    _building(dropoff := fresh())
    made["both buildings, one covered"] = book(pickup=pickup, dropoff=dropoff, day=5)
    _coi(made["both buildings, one covered"], building=a)
    made["both buildings, one covered, one waived"] = book(pickup=pickup, dropoff=dropoff, day=6)
    _coi(made["both buildings, one covered, one waived"], building=a, status=COIStatus.WAIVED)
    COIWaiver.objects.create(booking=made["both buildings, one covered, one waived"], building_role="dropoff",
                             reason="Board agreed by phone")
    made["waiver for the wrong role"] = book(pickup=fresh(), dropoff=dropoff, day=7)
    COIWaiver.objects.create(booking=made["waiver for the wrong role"], building_role="pickup", reason="n/a")
    made["same building both ends, covered"] = book(pickup=pickup, dropoff=pickup, day=8)
    _coi(made["same building both ends, covered"], building=a)
    made["unknown building, nothing"] = book(pickup=fresh(), dropoff=fresh(), day=9)
    made["unknown building, a valid certificate"] = book(pickup=fresh(), dropoff=fresh(), day=10)
    _coi(made["unknown building, a valid certificate"])
    made["unknown building, waived"] = book(pickup=fresh(), dropoff=fresh(), day=11)
    COIWaiver.objects.create(booking=made["unknown building, waived"], building_role="pickup", reason="n/a")
    _building(relaxed := fresh(), requires_coi=False)
    made["building needing none, customer asked"] = book(pickup=relaxed, dropoff=fresh(), day=12)
    made["no COI asked"] = book(pickup=pickup, dropoff=dropoff, coi_required=False, day=13)
    return made


def test_coi_needed_is_the_gates_definition_in_one_query(scenario, future_weekday, django_assert_num_queries):
    # the gate, asked booking by booking
    closed = {name for name, booking in scenario.items() if coi_gate_blockers(booking)}
    assert closed == {"no certificate", "pending certificate", "deleted certificate",
                      "another building's certificate", "both buildings, one covered", "waiver for the wrong role",
                      "unknown building, nothing", "building needing none, customer asked"}
    # the dashboard's figure, in SQL, agrees (all of them move within the week from future_weekday)
    with django_assert_num_queries(1):
        assert coi_needed_count(today=future_weekday) == len(closed)
    # and a week later only the ones still ahead count
    later = {n for n in closed if scenario[n].pickup_date >= future_weekday + dt.timedelta(days=3)}
    assert coi_needed_count(today=future_weekday + dt.timedelta(days=3)) == len(later)


def test_expires_at_follows_the_policy_expiration_and_the_expiring_figure_reads_it(coi_booking, certificate_for,
                                                                                   upload_certificate):
    from tests.core.documents import acord_corpus

    # given a certificate extracted with a policy ending 5 days after the move
    move = coi_booking.pickup_date
    coi = upload_certificate(coi_booking, acord_corpus.render_flattened(
        certificate_for(coi_booking, expiration_date=move + dt.timedelta(days=5))))
    coi.document.refresh_from_db()
    # then its document expires at the midnight after that day, New York time
    assert coi.document.expires_at == policy_expires_at(move + dt.timedelta(days=5))
    assert timezone.localtime(coi.document.expires_at).hour == 0
    # when staff correct the date, it follows; cleared, it is cleared
    coi_update_fields(coi=coi, data={"expiration_date": move + dt.timedelta(days=40)}, actor=None)
    coi.document.refresh_from_db()
    assert coi.document.expires_at == policy_expires_at(move + dt.timedelta(days=40))
    coi_update_fields(coi=coi, data={"expiration_date": None}, actor=None)
    coi.document.refresh_from_db()
    assert coi.document.expires_at is None


def test_expiring_counts_certificates_ending_before_the_move_or_within_two_weeks(scenario, future_weekday):
    booking = scenario["no certificate"]
    now = timezone.make_aware(dt.datetime.combine(future_weekday - dt.timedelta(days=20), dt.time(9)))
    _coi(booking, building=Building.objects.get(cois__booking=scenario["valid certificate"]),
         expiration=future_weekday - dt.timedelta(days=1))  # ends before the move, 19 days from now
    other = scenario["waiver for the wrong role"]
    _coi(other, expiration=future_weekday + dt.timedelta(days=60))  # covers the move, far from expiring
    before = coi_dashboard(now=now).expiring_14_days
    assert before == 1
    # 10 days on, the second is not yet within two weeks of its end; the first still is
    assert coi_dashboard(now=now + dt.timedelta(days=10)).expiring_14_days == 1

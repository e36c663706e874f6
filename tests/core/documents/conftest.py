import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.documents.models import Building, UploadSource
from core.documents.services import building_save, document_upload
from tests.core.documents import acord_corpus


@pytest.fixture
def building(db):
    """The Beresford-like building at the factories' pickup address (written differently on purpose)."""
    return building_save(building=Building(
        name="The Beresford", line1="245 E. 72nd St", city="New York", state="NY", zip_code="10021-4402",
        holder_name="Board of Managers of the Beresford Condominium", holder_address="211 Central Park West, "
        "New York, NY 10024", additional_insureds=["Beresford Management, L.L.C."],
        min_general_each_occurrence=Decimal("1000000"), min_umbrella=Decimal("5000000"),
        requires_waiver_of_subrogation=True, max_certificate_age_days=60))


@pytest.fixture
def coi_booking(make_request, building):
    from core.bookings.services import booking_create

    booking, _token = booking_create(request=make_request(coi_required=True))
    return booking


@pytest.fixture
def certificate_for():
    """An ACORD 25 (variant of the corpus) whose dates fit the booking's move date."""
    def _make(booking, variant="good", **changes):
        cert = acord_corpus.variants()[variant]
        move = booking.pickup_date
        dates = {"effective_date": move - dt.timedelta(days=200), "expiration_date": move + dt.timedelta(days=165),
                 "certificate_date": timezone.localdate() - dt.timedelta(days=5)}
        if variant == "expired":
            dates["expiration_date"] = move - dt.timedelta(days=2)
        return dataclasses.replace(cert, **{**dates, **changes})

    return _make


@pytest.fixture
def upload_certificate(private_storage, django_capture_on_commit_callbacks):
    """Staff upload of a certificate PDF; extraction and validation run as the after-commit task does."""
    def _upload(booking, pdf: bytes, *, role="pickup", actor=None, name="coi.pdf"):
        import io

        with django_capture_on_commit_callbacks(execute=True):
            document, _created = document_upload(file=io.BytesIO(pdf), filename=name, document_type="coi",
                                                 source=UploadSource.STAFF, booking=booking, building_role=role,
                                                 actor=actor)
        document.coi.refresh_from_db()
        return document.coi

    return _upload

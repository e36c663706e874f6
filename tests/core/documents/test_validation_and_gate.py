"""Certificates validated against their building, and the COI gate they open."""

import pytest

from core.bookings.selectors import booking_next_steps
from core.common.errors import PermissionDenied
from core.documents.errors import DocumentValidationError
from core.documents.gate import coi_gate_blockers, coi_gate_passed
from core.documents.models import COIStatus
from core.documents.services import coi_approve, coi_update_fields, coi_waive, coi_waive_building
from core.documents.validation import normalize_full_address, normalize_name
from tests.core.documents import acord_corpus
from tests.factories import UserFactory


def codes(coi) -> set[str]:
    return {p["code"] for p in coi.validation_errors}


def test_names_and_addresses_are_compared_normalised():
    assert normalize_name("The Beresford Condominium, Inc. c/o Orsid Realty Corp.") == \
        normalize_name("BERESFORD CONDOMINIUM c/o ORSID REALTY")
    assert normalize_name("Smith & Sons L.L.C.") == normalize_name("smith and sons")
    assert normalize_name("Beresford LLC") != normalize_name("Beresford Towers LLC")
    assert normalize_full_address("211 Central Park West, New York, NY 10024") == \
        normalize_full_address("211 Central Park W., New York NY 10024-1234")


@pytest.mark.parametrize("render", [acord_corpus.render_flattened, acord_corpus.render_fillable])
def test_a_good_certificate_validates_and_opens_the_gate(coi_booking, certificate_for, upload_certificate, render):
    assert not coi_gate_passed(coi_booking)
    assert "coi_needed" in [s["code"] for s in booking_next_steps(coi_booking)]

    coi = upload_certificate(coi_booking, render(certificate_for(coi_booking)))

    assert coi.status == COIStatus.VALID, coi.validation_errors
    assert coi.building.name == "The Beresford" and coi.validated_by is None
    assert coi_gate_passed(coi_booking)
    assert "coi_needed" not in [s["code"] for s in booking_next_steps(coi_booking)]


@pytest.mark.parametrize(("variant", "expected"), [
    ("wrong_holder", {"holder_name_mismatch", "holder_address_mismatch"}),
    ("low_limit", {"general_each_occurrence_too_low", "umbrella_each_occurrence_too_low"}),
    ("expired", {"policy_expires_before_move"}),
    ("missing_additional_insured", {"additional_insured_missing", "waiver_of_subrogation_missing"}),
])
def test_each_failing_variant_is_invalid_with_its_codes(coi_booking, certificate_for, upload_certificate, variant,
                                                         expected):
    coi = upload_certificate(coi_booking, acord_corpus.render_flattened(certificate_for(coi_booking, variant)))

    assert coi.status == COIStatus.INVALID
    assert codes(coi) == expected
    assert all(p["message"].endswith(".") for p in coi.validation_errors)
    assert [b.code for b in coi_gate_blockers(coi_booking)] == ["coi_invalid"]


def test_an_old_certificate_is_refused(coi_booking, certificate_for, upload_certificate):
    import datetime as dt

    cert = certificate_for(coi_booking, certificate_date=coi_booking.created_at.date() - dt.timedelta(days=90))
    coi = upload_certificate(coi_booking, acord_corpus.render_flattened(cert))
    assert codes(coi) == {"certificate_too_old"}


def test_staff_correct_a_misread_field_and_it_revalidates(coi_booking, certificate_for, upload_certificate):
    staff = UserFactory()
    coi = upload_certificate(coi_booking, acord_corpus.render_flattened(
        certificate_for(coi_booking, holder_name="Board of Managers of the Berestord Condominium")))
    assert codes(coi) == {"holder_name_mismatch"}

    coi_update_fields(coi=coi, data={"holder_name": "Board of Managers of The Beresford Condominium"}, actor=staff)

    coi.refresh_from_db()
    assert coi.status == COIStatus.VALID and coi.extraction["edited"] == ["holder_name"]
    assert coi.history.filter(history_user=staff).exists()
    with pytest.raises(DocumentValidationError):
        coi_update_fields(coi=coi, data={"status": "valid"}, actor=staff)


def test_approve_refuses_a_failing_certificate_and_only_an_admin_waives(coi_booking, certificate_for,
                                                                        upload_certificate):
    staff, admin = UserFactory(), UserFactory(role="admin")
    coi = upload_certificate(coi_booking, acord_corpus.render_flattened(certificate_for(coi_booking, "low_limit")))

    with pytest.raises(DocumentValidationError):
        coi_approve(coi=coi, actor=staff)
    with pytest.raises(PermissionDenied):
        coi_waive(coi=coi, actor=staff, reason="building agreed by phone")
    with pytest.raises(DocumentValidationError):
        coi_waive(coi=coi, actor=admin, reason="  ")
    coi_waive(coi=coi, actor=admin, reason="building agreed by phone")

    coi.refresh_from_db()
    assert coi.status == COIStatus.WAIVED and coi.validated_by == admin and "by phone" in coi.notes
    assert coi_gate_passed(coi_booking)


def test_a_building_waiver_opens_the_gate_without_a_certificate(coi_booking):
    admin = UserFactory(role="admin")
    assert [b.code for b in coi_gate_blockers(coi_booking)] == ["coi_missing"]
    with pytest.raises(PermissionDenied):
        coi_waive_building(booking=coi_booking, building_role="pickup", actor=UserFactory(), reason="x")
    coi_waive_building(booking=coi_booking, building_role="pickup", actor=admin, reason="super agreed")
    assert coi_gate_passed(coi_booking)


def test_without_tesseract_a_scanned_certificate_waits_for_a_person(coi_booking, certificate_for,
                                                                     upload_certificate, monkeypatch):
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    coi = upload_certificate(coi_booking, acord_corpus.render_scan(certificate_for(coi_booking)))

    assert coi.status == COIStatus.PENDING and codes(coi) == {"fields_missing"}
    assert coi.extraction["needs_review"] and "Tesseract" in coi.extraction["reason"]
    assert [b.code for b in coi_gate_blockers(coi_booking)] == ["coi_pending"]


def test_a_booking_without_coi_required_is_never_gated(make_request, building):
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request(coi_required=False))
    assert coi_gate_passed(booking)


def test_a_coi_booking_cannot_be_scheduled_until_the_gate_passes(coi_booking, certificate_for, upload_certificate):
    from core.bookings.models import BookingStatus
    from core.bookings.services import booking_transition
    from core.documents.errors import COIGateClosed

    booking = booking_transition(booking=coi_booking, to_status=BookingStatus.PAID)
    with pytest.raises(COIGateClosed) as refused:
        booking_transition(booking=booking, to_status=BookingStatus.SCHEDULED)
    assert refused.value.code == "coi_required" and refused.value.fields == {"coi": ["coi_missing"]}

    upload_certificate(booking, acord_corpus.render_flattened(certificate_for(booking)))
    assert booking_transition(booking=booking, to_status=BookingStatus.SCHEDULED).status == BookingStatus.SCHEDULED


def test_a_certificate_the_customer_sent_waits_for_staff_even_when_it_checks_out(coi_booking, certificate_for,
                                                                                 private_storage,
                                                                                 django_capture_on_commit_callbacks):
    import io

    from core.documents.services import document_upload

    with django_capture_on_commit_callbacks(execute=True):
        document, _ = document_upload(file=io.BytesIO(acord_corpus.render_flattened(certificate_for(coi_booking))),
                                      filename="coi.pdf", document_type="coi", source="customer",
                                      booking=coi_booking, building_role="pickup")
    document.coi.refresh_from_db()
    assert document.coi.status == COIStatus.PENDING and document.coi.validation_errors == []
    assert not coi_gate_passed(coi_booking)
    coi_approve(coi=document.coi, actor=UserFactory())
    assert coi_gate_passed(coi_booking)

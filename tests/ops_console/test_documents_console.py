"""The COI review desk, documents list, staff upload/download and buildings: permissions and decisions."""


import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.bookings.models import Booking, BookingStatus
from core.bookings.services import booking_transition
from core.documents.models import COI, Building, COIStatus, Document, DocumentAccess
from tests.core.documents import acord_corpus


def _messages(response):
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def low_limit_coi(coi_booking, certificate_for, upload_certificate):
    return upload_certificate(coi_booking, acord_corpus.render_flattened(certificate_for(coi_booking, "low_limit")))


@pytest.mark.django_db
def test_review_desk_shows_pages_beside_the_fields_and_problems(role_client, low_limit_coi):
    client = role_client("operations")
    page = client.get(reverse("admin:core_coi_change", args=[low_limit_coi.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="coi-pages"' in html and "general_each_occurrence_too_low" in html
    assert 'value="waive"' not in html  # operations cannot waive
    image = client.get(reverse("admin:core_coi_page", args=[low_limit_coi.pk, 0]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(reverse("admin:core_coi_page", args=[low_limit_coi.pk, 7])).status_code == 404


@pytest.mark.django_db
def test_staff_correct_a_field_then_approve_and_it_is_audited(role_client, coi_booking, certificate_for,
                                                              upload_certificate):
    coi = upload_certificate(coi_booking, acord_corpus.render_flattened(
        certificate_for(coi_booking, general_each_occurrence=__import__("decimal").Decimal("100000"))))
    client = role_client("operations")
    url = reverse("admin:core_coi_change", args=[coi.pk])
    assert COI.objects.get(pk=coi.pk).status == COIStatus.INVALID
    page = client.get(url)
    data = {name: field.value() or "" for name, field in
            ((n, page.context["form"][n]) for n in page.context["form"].fields)}
    data.update(decision="save", general_each_occurrence="1000000")

    saved = client.post(url, data)

    assert saved.status_code == 302
    coi.refresh_from_db()
    assert coi.status == COIStatus.VALID and coi.extraction["edited"] == ["general_each_occurrence"]
    assert coi.history.filter(history_user=client.user).exists()
    assert client.post(url, {"decision": "approve"}).status_code == 302
    coi.refresh_from_db()
    assert coi.validated_by == client.user


@pytest.mark.django_db
def test_reject_needs_a_reason_and_only_admins_waive(role_client, low_limit_coi):
    url = reverse("admin:core_coi_change", args=[low_limit_coi.pk])
    ops = role_client("operations")
    assert ops.post(url, {"decision": "reject", "reason": ""}).status_code == 200  # form error, nothing done
    refused = ops.post(url, {"decision": "waive", "reason": "agreed"})
    assert ("error", "Only an admin can waive a certificate requirement.") in _messages(refused)
    approve = ops.post(url, {"decision": "approve"})
    assert any(level == "error" for level, _ in _messages(approve))
    assert COI.objects.get(pk=low_limit_coi.pk).status == COIStatus.INVALID

    admin_client = role_client("admin")
    assert admin_client.post(url, {"decision": "waive", "reason": "Building manager agreed"}).status_code == 302
    assert COI.objects.get(pk=low_limit_coi.pk).status == COIStatus.WAIVED


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "view", "change"), [("operations", 200, True), ("finance", 200, False),
                                                      ("nogroup", 403, False)])
def test_permissions_on_every_new_page(role_client, low_limit_coi, role, view, change):
    client = role_client(role)
    coi_url = reverse("admin:core_coi_change", args=[low_limit_coi.pk])
    pages = [coi_url, reverse("admin:core_coi_changelist"), reverse("admin:core_document_changelist"),
             reverse("admin:core_building_changelist"),
             reverse("admin:core_coi_page", args=[low_limit_coi.pk, 0]),
             reverse("admin:core_document_download", args=[low_limit_coi.document_id])]
    for url in pages:
        status = client.get(url).status_code
        expected = {200, 302} if view == 200 else {403, 404, 302}
        assert status in expected, (url, status)
        if view != 200 and status == 302:
            assert "/login/" in client.get(url)["Location"]
    posted = client.post(coi_url, {"decision": "reject", "reason": "wrong"})
    assert (posted.status_code == 302) is change
    assert (COI.objects.get(pk=low_limit_coi.pk).status == COIStatus.INVALID)
    upload = client.get(reverse("admin:core_document_upload"))
    assert (upload.status_code == 200) is change


@pytest.mark.django_db
def test_staff_upload_and_download_from_the_console(role_client, coi_booking, certificate_for,
                                                    private_storage):
    client = role_client("operations")
    pdf = acord_corpus.render_flattened(certificate_for(coi_booking))
    response = client.post(reverse("admin:core_document_upload"), {
        "booking_number": coi_booking.booking_number, "document_type": "coi", "building": "pickup",
        "file": SimpleUploadedFile("issued.pdf", pdf, content_type="application/pdf")})
    document = Document.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/coi/{document.coi.pk}/change/")
    assert document.uploaded_by == client.user and document.upload_source == "staff"

    bad = client.post(reverse("admin:core_document_upload"), {
        "booking_number": coi_booking.booking_number, "document_type": "other", "building": "",
        "file": SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")})
    assert bad.status_code == 200 and b"Send a PDF, JPEG, PNG or HEIC file." in bad.content

    download = client.get(reverse("admin:core_document_download", args=[document.pk]))
    assert download.status_code == 302
    assert DocumentAccess.objects.get().actor == client.user
    booking_page = client.get(reverse("admin:core_booking_change", args=[coi_booking.pk]))
    assert b"issued.pdf" in booking_page.content  # the booking's Documents tab


@pytest.mark.django_db
def test_the_schedule_action_is_refused_until_the_coi_gate_passes(role_client, coi_booking, certificate_for,
                                                                  upload_certificate):
    booking = booking_transition(booking=coi_booking, to_status=BookingStatus.PAID)
    client = role_client("operations")
    run = lambda: client.post(reverse("admin:core_booking_action", args=["schedule"]),  # noqa: E731
                              {"ids": [str(booking.pk)], "confirm": "yes"})
    refused = run()  # a refused single action keeps its form and shows the reason on it
    assert refused.status_code == 200
    assert "No certificate of insurance for The Beresford yet." in refused.content.decode()
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PAID

    upload_certificate(booking, acord_corpus.render_flattened(certificate_for(booking)))
    run()
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.SCHEDULED


@pytest.mark.django_db
def test_buildings_admin_saves_through_the_service(role_client):
    client = role_client("operations")
    form = {"name": "Lenox Tower", "line1": "10 West 66th Street", "city": "New York", "state": "NY",
            "zip_code": "10023", "requires_coi": "on", "holder_name": "Lenox Tower Condominium",
            "additional_insureds": "Lenox Tower Condominium\nAKAM Associates Inc.", "move_weekdays": ["1", "2"],
            "lead_time_business_days": "3", "contact_email": "", "notes": "", "holder_address": ""}
    response = client.post(reverse("admin:core_building_add"), form)
    assert response.status_code == 302, response.content[:2000]
    building = Building.objects.get()
    assert building.normalized_address == "10 w 66 st|10023" and building.move_weekdays == [1, 2]
    assert building.additional_insureds == ["Lenox Tower Condominium", "AKAM Associates Inc."]
    duplicate = client.post(reverse("admin:core_building_add"), {**form, "line1": "10 W. 66th St"})
    assert duplicate.status_code == 200 and b"Another building has this address." in duplicate.content
    hours = {**form, "line1": "1 Lincoln Plaza", "move_hours_start": "17:00", "move_hours_end": "09:00"}
    backwards = client.post(reverse("admin:core_building_add"), hours)
    assert backwards.status_code == 200 and b"End the move hours after they start." in backwards.content
    assert client.post(reverse("admin:core_building_add"), {**hours, "move_hours_start": "09:00",
                                                            "move_hours_end": "17:00"}).status_code == 302
    assert Building.objects.get(line1="1 Lincoln Plaza").move_hours_end.hour == 17


@pytest.mark.django_db
def test_operations_delete_a_document_softly_and_finance_cannot(role_client, coi_booking, private_storage):
    import io as _io

    from core.documents.services import document_upload
    from tests.core.documents.attack_corpus import pdf_bytes

    document, _ = document_upload(file=_io.BytesIO(pdf_bytes()), filename="a.pdf", document_type="other",
                                  source="staff", booking=coi_booking)
    url = reverse("admin:core_document_remove", args=[document.pk])
    assert role_client("finance").get(url).status_code == 403
    assert Document.objects.get().deleted_at is None
    assert role_client("operations").get(url).status_code == 302
    assert Document.objects.get().deleted_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "may_upload"), [("operations", True), ("admin", True), ("finance", False),
                                                  ("nogroup", False)])
def test_upload_a_coi_from_the_booking_desk_per_role(role_client, role, may_upload, coi_booking):
    client = role_client(role)
    booking_page = client.get(reverse("admin:core_booking_change", args=[coi_booking.pk]))
    upload_url = f"{reverse('admin:core_document_upload')}?booking={coi_booking.booking_number}&type=coi"
    row = client.get(reverse("admin:core_booking_row_upload_coi", args=[coi_booking.pk]))
    if may_upload:
        # the Documents tab has the button, and the row action leads to the same page, bound to the booking
        assert 'data-testid="upload-coi"' in booking_page.content.decode()
        assert upload_url.replace("&", "&amp;") in booking_page.content.decode()
        assert row.status_code == 302 and row["Location"] == upload_url
        form = client.get(upload_url).context["form"]
        assert form["booking_number"].value() == coi_booking.booking_number and form["document_type"].value() == "coi"
    else:
        assert 'data-testid="upload-coi"' not in getattr(booking_page, "content", b"").decode()
        assert row.status_code in (302, 403) and row.get("Location") != upload_url
        assert client.get(upload_url).status_code == 403


@pytest.mark.django_db
def test_staff_upload_the_buildings_coi_from_the_booking_and_see_it_in_its_documents_tab(
        role_client, coi_booking, certificate_for, private_storage, django_capture_on_commit_callbacks):
    # given the certificate the insurer issued for the booking's building (a real ACORD 25 PDF of the corpus)
    pdf = acord_corpus.render_flattened(certificate_for(coi_booking))
    client = role_client("operations")
    booking_url = reverse("admin:core_booking_change", args=[coi_booking.pk])
    upload_url = client.get(reverse("admin:core_booking_row_upload_coi", args=[coi_booking.pk]))["Location"]
    # when staff post it on the page the booking desk led them to
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(upload_url, {
            "booking_number": coi_booking.booking_number, "document_type": "coi", "building": "pickup",
            "file": SimpleUploadedFile("Beresford COI.pdf", pdf, content_type="application/pdf")})
    # then it is stored on the booking, read and checked, and listed in the booking's Documents tab
    document = Document.objects.get(booking=coi_booking)
    assert response.status_code == 302 and response["Location"] == reverse("admin:core_coi_change",
                                                                           args=[document.coi.pk])
    assert document.uploaded_by == client.user and document.coi.building.name == "The Beresford"
    tab = client.get(booking_url).content.decode()
    assert "Beresford COI.pdf" in tab and reverse("admin:core_coi_change", args=[document.coi.pk]) in tab


@pytest.mark.django_db
def test_the_expiring_filter_and_the_expiry_job_share_one_moment(role_client, coi_booking, certificate_for,
                                                                 upload_certificate, time_machine):
    import datetime as dt

    from django.utils import timezone

    from core.documents.services import coi_mark_expired

    # given a valid certificate whose policy ends three days after the move
    ends = coi_booking.pickup_date + dt.timedelta(days=3)
    coi = upload_certificate(coi_booking, acord_corpus.render_flattened(certificate_for(coi_booking,
                                                                                        expiration_date=ends)))
    assert coi.status == COIStatus.VALID
    listed = f"{reverse('admin:core_document_changelist')}?expiring=14"

    def shown() -> bool:
        return coi.document.original_filename in role_client("operations").get(listed).content.decode()

    # at 23:30 New York time on its last day it is expiring (listed), and the job leaves it valid
    time_machine.move_to(timezone.make_aware(dt.datetime.combine(ends, dt.time(23, 30))), tick=False)
    assert shown() and coi_mark_expired() == []
    # half an hour later it is no longer "expiring": the job has marked it expired
    time_machine.move_to(timezone.make_aware(dt.datetime.combine(ends + dt.timedelta(days=1), dt.time(0, 1))),
                         tick=False)
    assert coi_mark_expired() == [coi_booking.booking_number] and not shown()
    assert COI.objects.get(pk=coi.pk).status == COIStatus.EXPIRED


@pytest.mark.django_db
def test_an_address_corrected_in_the_console_is_matched_to_its_building_again(role_client, coi_booking):
    from core.customers.models import Address
    from core.documents.selectors import coi_needed_count

    # given a COI booking at the Beresford, whose certificate is missing
    assert coi_needed_count(today=coi_booking.pickup_date) == 1
    address = Address.objects.get(pk=coi_booking.pickup_address_id)
    # when staff correct the pickup address to a building we have no record of... and back
    client = role_client("admin")
    url = reverse("admin:core_address_change", args=[address.pk])
    for line1 in ("9 Nowhere Road", "245 East 72nd Street"):
        response = client.post(url, {"line1": line1, "line2": "", "city": "New York", "state": "NY",
                                     "zip_code": "10021"})
        assert response.status_code == 302, response.content[:2000]
        address.refresh_from_db()
        # then the normalised form follows the new line (the SQL figure joins on it)
        assert address.normalized_address == ("9 nowhere rd|10021" if line1.startswith("9") else "245 e 72 st|10021")
    assert coi_needed_count(today=coi_booking.pickup_date) == 1


@pytest.mark.django_db
def test_the_dashboards_cois_needed_leads_to_exactly_those_bookings(role_client, coi_booking, certificate_for,
                                                                    upload_certificate, time_machine):
    import datetime as dt

    from django.utils import timezone

    time_machine.move_to(timezone.make_aware(dt.datetime.combine(coi_booking.pickup_date - dt.timedelta(days=3),
                                                                 dt.time(9))), tick=False)
    client = role_client("operations")
    link = f"{reverse('admin:core_booking_changelist')}?coi_needed=7"
    dashboard = client.get(reverse("admin:index")).content.decode()
    assert link.replace("&", "&amp;") in dashboard or link in dashboard
    assert coi_booking.booking_number in client.get(link).content.decode()
    # once its building's certificate is valid, the booking leaves the list
    coi = upload_certificate(coi_booking, acord_corpus.render_flattened(certificate_for(coi_booking)))
    assert coi.status == COIStatus.VALID
    assert coi_booking.booking_number not in client.get(link).content.decode()

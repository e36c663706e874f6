"""The COI review desk in a real browser: the certificate's page beside its fields, a correction, approval."""

import pytest

from core.documents.models import COI, COIStatus
from tests.browser.conftest import shot
from tests.core.documents import acord_corpus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operations_corrects_a_low_limit_and_approves(live_server, page, login, coi_booking, certificate_for,
                                                      upload_certificate):
    coi = upload_certificate(coi_booking, acord_corpus.render_flattened(certificate_for(coi_booking, "low_limit")))
    assert coi.status == COIStatus.INVALID
    login("operations")

    page.goto(f"{live_server.url}/admin/core/coi/?status__exact=invalid")
    assert coi_booking.booking_number in page.locator("#result_list").inner_text()
    page.goto(f"{live_server.url}/admin/core/coi/{coi.pk}/change/")
    image = page.get_by_test_id("coi-pages").locator("img").first
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 500", arg=image.element_handle())
    assert "general_each_occurrence_too_low" in page.get_by_test_id("validation-errors").inner_text()
    shot(page, "coi_review_before")

    fields = page.get_by_test_id("coi-fields")
    fields.locator("input[name=general_each_occurrence]").fill("1000000")
    fields.locator("input[name=umbrella_each_occurrence]").fill("5000000")
    fields.get_by_role("button", name="Save corrections").click()
    page.get_by_text("Fields saved and the certificate validated again.").wait_for()
    assert "Valid" in page.get_by_test_id("coi-status").inner_text()

    page.get_by_test_id("coi-decision").get_by_role("button", name="Approve").click()
    page.get_by_text("Approved.").wait_for()
    assert page.get_by_test_id("coi-decision").get_by_role("button", name="Waive (admin)").count() == 0
    shot(page, "coi_review_after")
    coi.refresh_from_db()
    assert coi.status == COIStatus.VALID and coi.validated_by.username == "operations_user"
    assert COI.history.filter(id=coi.pk, history_user__username="operations_user").exists()


def test_operations_upload_a_coi_from_the_booking_documents_tab(live_server, page, login, coi_booking,
                                                               certificate_for, private_storage):
    import re

    pdf = acord_corpus.render_flattened(certificate_for(coi_booking))
    login("operations")
    # the sidebar leads to the review desk
    assert page.locator("#nav-sidebar-inner, nav").get_by_role("link", name="COI review desk").count() >= 1

    page.goto(f"{live_server.url}/admin/core/booking/{coi_booking.pk}/change/")
    page.locator("#content-main nav a", has_text=re.compile(r"^\s*Documents\s*$")).click()
    page.get_by_test_id("upload-coi").click()
    page.wait_for_url(re.compile(r".*/admin/core/document/upload/\?booking=.*"))
    assert page.locator("input[name=booking_number]").input_value() == coi_booking.booking_number
    page.locator("select[name=building]").select_option("pickup")
    page.locator("input[name=file]").set_input_files(
        {"name": "Beresford COI.pdf", "mimeType": "application/pdf", "buffer": pdf})
    # choosing the file leaves the booking number alone (Unfold's script once wrote the file name into it)
    assert page.locator("input[name=booking_number]").input_value() == coi_booking.booking_number
    page.get_by_role("button", name="Upload", exact=True).click()
    page.get_by_text("Beresford COI.pdf uploaded.").wait_for()
    shot(page, "coi_uploaded_from_booking")

    page.goto(f"{live_server.url}/admin/core/booking/{coi_booking.pk}/change/")
    page.locator("#content-main nav a", has_text=re.compile(r"^\s*Documents\s*$")).click()
    page.locator("#content-main").get_by_text("Beresford COI.pdf").filter(visible=True).first.wait_for()  # the tab is shown by a script
    assert "Beresford COI.pdf" in page.locator("#content-main").inner_text()
    assert COI.objects.get(booking=coi_booking).document.original_filename == "Beresford COI.pdf"

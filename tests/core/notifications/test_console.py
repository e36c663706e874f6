"""The console pieces in ops_console/notifications_console.py, wired onto the real admin site for the test."""

import sys

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import clear_url_caches, path

from core.notifications.models import EmailTemplate, Notification, NotificationStatus
from core.notifications.services import notify_booking_event
from ops_console.notifications_console import (
    DeliveryLogInline,
    EmailTemplatePreviewMixin,
    NotificationResendMixin,
)
from tests.factories import UserFactory

urlpatterns: list = []


@pytest.fixture
def console(settings):
    """Compose the mixins onto the registered admin classes, as the console engineer will."""
    originals = {model: admin.site._registry[model] for model in (EmailTemplate, Notification)}
    def composed(mixin, registered, attrs):
        # The console already composes them; keep this fixture working either way.
        return registered if issubclass(registered, mixin) else type(f"Test{registered.__name__}",
                                                                     (mixin, registered), attrs)

    template_admin = composed(EmailTemplatePreviewMixin, type(originals[EmailTemplate]), {})
    notification_admin = composed(NotificationResendMixin, type(originals[Notification]),
                                  {"inlines": [DeliveryLogInline]})
    for model, cls in ((EmailTemplate, template_admin), (Notification, notification_admin)):
        admin.site.unregister(model)
        admin.site.register(model, cls)
    from totetaxi import urls as project_urls

    module = sys.modules[__name__]
    module.urlpatterns = [path("admin/", admin.site.urls),
                          *[p for p in project_urls.urlpatterns if "admin" not in str(p.pattern)]]
    settings.ROOT_URLCONF = __name__
    clear_url_caches()
    yield
    for model, original in originals.items():
        admin.site.unregister(model)
        admin.site._registry[model] = original
    module.urlpatterns = []
    clear_url_caches()


@pytest.fixture
def staff(db):
    user = UserFactory(email="ops@totetaxi.test")
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_emailtemplate", "change_emailtemplate", "view_notification", "change_notification"]))
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_preview_renders_the_test_data(console, staff_client, email_templates):
    template = EmailTemplate.objects.get(name="booking_confirmation")

    response = staff_client.get(f"/admin/core/emailtemplate/{template.pk}/preview/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Booking confirmed: TT-2027-000123 on Wed, Mar 10" in html
    assert 'sandbox=""' in html


def test_live_preview_shows_problems_without_saving(console, staff_client, email_templates):
    template = EmailTemplate.objects.get(name="booking_confirmation")

    response = staff_client.post(f"/admin/core/emailtemplate/{template.pk}/preview/", {
        "subject_template": "Hi {{ driver_name }}", "html_template": "<p>x</p>", "text_template": "x",
        "sms_template": "", "test_data": "{}"})

    assert response.status_code == 200
    assert "Unknown variable driver_name" in response.content.decode()
    template.refresh_from_db()
    assert template.subject_template.startswith("Booking confirmed")


def test_change_form_refuses_an_invalid_template(console, staff_client, email_templates):
    template = EmailTemplate.objects.get(name="payment_confirmation")
    url = f"/admin/core/emailtemplate/{template.pk}/change/"
    data = {f: getattr(template, f) for f in ("name", "subject_template", "html_template", "text_template",
                                              "sms_template", "from_name", "from_email", "reply_to")}
    data.update(available_variables="{}", test_data="{}", is_active="on", version=template.version)

    bad = staff_client.post(url, {**data, "text_template": "Paid {% if amount_paid %}"})
    good = staff_client.post(url, {**data, "subject_template": "Payment received: {{ booking_number }}"})

    assert bad.status_code == 200 and "syntax error" in bad.content.decode()
    assert good.status_code == 302
    template.refresh_from_db()
    assert (template.subject_template, template.version) == ("Payment received: {{ booking_number }}", 2)


def test_templates_cannot_be_imported_around_validation(console, staff):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = staff

    assert admin.site._registry[EmailTemplate].has_import_permission(request) is False


def test_send_test_to_me_mails_the_signed_in_user(console, staff_client, email_templates):
    template = EmailTemplate.objects.get(name="booking_reminder")
    url = f"/admin/core/emailtemplate/{template.pk}/send-test/"

    assert staff_client.get(url).status_code == 200
    assert mail.outbox == []
    response = staff_client.post(url)

    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["ops@totetaxi.test"] and message.subject.startswith("[TEST] Reminder")


def test_resend_creates_a_new_attempt_and_shows_the_delivery_log(console, staff_client, staff, booking,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [original] = notify_booking_event(booking=booking, event="booking_confirmation")

    change = staff_client.get(f"/admin/core/notification/{original.pk}/change/")
    assert change.status_code == 200 and "Delivery log" in change.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/admin/core/notification/{original.pk}/resend/")

    new = Notification.objects.exclude(pk=original.pk).get()
    assert response.status_code == 302 and response.url.endswith(f"/{new.pk}/change/")
    assert new.resend_of == original and new.status == NotificationStatus.SENT
    assert new.history.earliest().history_user == staff
    assert len(mail.outbox) == 2


def test_resend_needs_change_notification(console, client, booking):
    [original] = notify_booking_event(booking=booking, event="booking_confirmation")
    viewer = UserFactory()
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_notification"))
    client.force_login(viewer)

    assert client.post(f"/admin/core/notification/{original.pk}/resend/").status_code == 403
    assert Notification.objects.count() == 1


def test_preview_keeps_the_whole_email_inside_the_iframe_and_test_data_encoded_once(console, staff_client,
                                                                                    email_templates):
    import html as html_lib
    import json
    import re

    template = EmailTemplate.objects.get(name="booking_confirmation")

    page = staff_client.get(f"/admin/core/emailtemplate/{template.pk}/preview/").content.decode()

    srcdoc = re.search(r'srcdoc="([^"]*)"', page).group(1)
    rendered = html_lib.unescape(srcdoc)
    assert rendered.count("<") > 5 and "TT-2027-000123" in rendered  # the full email, not cut at a quote
    textarea = re.search(r'<textarea[^>]*name="test_data"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert json.loads(html_lib.unescape(textarea)) == template.test_data  # a JSON object, not a JSON string

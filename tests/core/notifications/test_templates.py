import datetime as dt

import pytest

from core.notifications.errors import TemplateInvalid
from core.notifications.models import EmailTemplate
from core.notifications.rendering import coerce_test_data
from core.notifications.services import (
    email_template_form_errors,
    email_template_preview,
    email_template_save,
    email_template_validate,
)
from tests.factories import UserFactory


def test_every_shipped_template_is_valid(email_templates):
    templates = list(EmailTemplate.objects.all())

    assert len(templates) == 6
    assert {t.name: email_template_validate(template=t) for t in templates} == {t.name: [] for t in templates}


@pytest.mark.parametrize(("field", "source", "expected"), [
    ("subject_template", "Booking {% if booking_number %}", "syntax error"),
    ("html_template", "<p>{{ booking_number|nosuchfilter }}</p>", "syntax error"),
    ("text_template", "Hi {{ customer_name }}, your driver is {{ driver_name }}", "Unknown variable driver_name"),
    ("sms_template", "{% for x in items %}{{ x }}{% endfor %}", "Unknown variable items"),
    ("text_template", "Hi {{ customer_name }, thanks", "Unbalanced template braces"),
    ("html_template", '{% include "admin/base.html" %}', "{% include %} tag is not allowed"),
    ("html_template", "{% load static %}", "syntax error"),
    ("text_template", "", "This template is empty"),
    # HTML escaping turned off would put a customer's name into the email as markup
    ("html_template", "<p>Hi {{ customer_name|upper|safe }}</p>", "may not turn HTML escaping off (|safe)"),
    ("html_template", "{% if booking_number %}{% autoescape off %}{{ customer_name }}{% endautoescape %}{% endif %}",
     "may not turn HTML escaping off ({% autoescape off %})"),
    ("html_template", "{% for c in customer_name|safeseq %}{{ c }}{% endfor %}",
     "may not turn HTML escaping off (|safeseq)"),
    ("html_template", "{% with n=customer_name|safe %}{{ n }}{% endwith %}", "may not turn HTML escaping off (|safe)"),
    ("html_template", "{% if customer_name|safe %}x{% endif %}", "may not turn HTML escaping off (|safe)"),
    ("text_template", "Hi {{ customer_name|safe }}", "may not turn HTML escaping off (|safe)"),
    ("html_template", "{% filter safe %}{{ customer_name }}{% endfilter %}", '"filter safe" is not permitted'),
])
def test_broken_template_is_refused_with_a_clear_message(email_templates, field, source, expected):
    template = EmailTemplate.objects.get(name="booking_confirmation")
    setattr(template, field, source)

    problems = email_template_validate(template=template)

    assert [p.field for p in problems] == [field]
    assert expected in problems[0].message
    with pytest.raises(TemplateInvalid) as excinfo:
        email_template_save(template=template, actor=None)
    assert expected in " ".join(excinfo.value.fields[field])
    template.refresh_from_db()
    assert template.version == 1


def test_filter_safeseq_is_refused(email_templates):
    template = EmailTemplate.objects.get(name="booking_confirmation")
    template.html_template = "{% filter upper|safeseq %}{{ customer_name }}{% endfilter %}"

    problems = email_template_validate(template=template)

    assert any("may not turn HTML escaping off ({% filter safeseq %})" in p.message for p in problems), problems


def test_escaping_kept_on_is_accepted(email_templates):
    template = EmailTemplate.objects.get(name="booking_confirmation")
    template.html_template = "{% autoescape on %}<p>{{ customer_name|escape|upper }}</p>{% endautoescape %}"

    assert email_template_validate(template=template) == []


def test_unknown_variable_message_lists_what_the_type_provides(email_templates):
    template = EmailTemplate.objects.get(name="tracking_update")
    template.sms_template = "{{ booking_number }} costs {{ total_price }}"

    errors = email_template_form_errors(template=template)

    assert list(errors) == ["sms_template"]
    assert "Unknown variable total_price" in errors["sms_template"][0]
    assert "status_display" in errors["sms_template"][0]


def test_loop_and_with_names_are_not_unknown_variables(email_templates):
    template = EmailTemplate.objects.get(name="booking_confirmation")
    template.text_template = ("{% with name=customer_name %}{{ name }}{% endwith %}"
                              "{% for c in booking_number %}{{ c }}{{ forloop.counter }}{% endfor %}")

    assert email_template_validate(template=template) == []


def test_documenting_a_variable_the_type_does_not_provide_is_refused(email_templates):
    template = EmailTemplate.objects.get(name="coi_reminder")
    template.available_variables = {**template.available_variables, "building_name": "The building"}

    [problem] = email_template_validate(template=template)

    assert problem.field == "available_variables" and "building_name is not provided" in problem.message


def test_unknown_notification_type_is_refused(db):
    template = EmailTemplate(name="newsletter", subject_template="Hi", html_template="<p>Hi</p>", text_template="Hi")

    [problem] = email_template_validate(template=template)

    assert problem.field == "name" and "newsletter" in problem.message


def test_too_long_sms_is_refused(email_templates):
    template = EmailTemplate.objects.get(name="booking_confirmation")
    template.sms_template = "{{ manage_url }} " * 4 + "x" * 150

    [problem] = email_template_validate(template=template)

    assert problem.field == "sms_template" and "characters" in problem.message


def test_saving_a_change_bumps_the_version_and_records_the_actor(email_templates):
    staff = UserFactory()
    template = EmailTemplate.objects.get(name="payment_confirmation")
    template.subject_template = "Thanks! Payment for {{ booking_number }} received"

    email_template_save(template=template, actor=staff)

    template.refresh_from_db()
    assert template.version == 2
    assert template.history.latest().history_user == staff

    template.is_active = True  # not content: no new version
    email_template_save(template=template, actor=staff)
    template.refresh_from_db()
    assert template.version == 2


def test_preview_renders_test_data_with_html_escaped_and_text_raw(email_templates):
    template = EmailTemplate.objects.get(name="booking_confirmation")
    template.test_data = {**template.test_data, "customer_name": "Tom & Jerry <b>"}

    preview = email_template_preview(template=template)

    assert preview["subject"] == "Booking confirmed: TT-2027-000123 on Wed, Mar 10"
    assert "Tom &amp; Jerry &lt;b&gt;" in preview["html"]
    assert "Tom & Jerry <b>" in preview["text"]
    assert preview["sms"].startswith("ToteTaxi: booking TT-2027-000123 is confirmed for Wed Mar 10")
    assert set(preview) == {"subject", "html", "text", "sms"}


def test_test_data_dates_become_dates():
    assert coerce_test_data({"pickup_date": "2027-03-10", "booking_number": "2027-03-10"}) == {
        "pickup_date": dt.date(2027, 3, 10), "booking_number": "2027-03-10"}

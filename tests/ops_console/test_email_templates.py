"""Editing email templates in the console: constructs that turn HTML escaping off are refused with the reason."""

import pytest
from django.urls import reverse

from core.notifications.models import EmailTemplate

FORM_FIELDS = ("name", "subject_template", "html_template", "text_template", "sms_template", "from_name",
               "from_email", "reply_to")


@pytest.mark.django_db
@pytest.mark.parametrize(("html", "construct"), [
    ("<p>Hi {{ customer_name|safe }}</p>", "|safe"),
    ("{% autoescape off %}<p>Hi {{ customer_name }}</p>{% endautoescape %}", "{% autoescape off %}"),
])
def test_console_refuses_a_template_that_turns_escaping_off(role_client, email_templates, html, construct):
    template = EmailTemplate.objects.get(name="booking_confirmation")
    data = {f: getattr(template, f) for f in FORM_FIELDS}
    data.update(available_variables="{}", test_data="{}", is_active="on", version=template.version)
    client = role_client("operations")

    response = client.post(reverse("admin:core_emailtemplate_change", args=[template.pk]),
                           {**data, "html_template": html})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["html_template"]
    assert [e for e in errors if e.startswith(f"Templates may not turn HTML escaping off ({construct}):")]
    template.refresh_from_db()
    assert template.html_template != html and template.version == 1

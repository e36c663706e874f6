"""No console export ever carries a secret: every registered admin's import-export export and streamed export."""

import csv
import io
import re

import pytest
from django import forms
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from import_export.formats.base_formats import CSV

from core.accounts.models import User
from core.bookings.models import Booking, BookingStatus
from core.catalog.models import MiniMovePackage, SpecialtyItem, SurchargeRule
from core.customers.models import CustomerProfile
from core.payments.models import Payment, Refund
from core.reporting.models import DailyMetrics
from ops_console.exports import StreamingExportMixin

SECRET = re.compile(r"password|token|secret|hash|api_?key|otp", re.IGNORECASE)
PASSWORD = "correct horse battery staple"


def _exporting_admins(user):
    request = RequestFactory().get("/")
    request.user = user
    return request, [(model, model_admin) for model, model_admin in admin.site._registry.items()
                     if hasattr(model_admin, "has_export_permission") and model_admin.has_export_permission(request)]


@pytest.fixture
def root(db):
    user = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def secrets_at_rest(root, make_booking):
    booking = make_booking(BookingStatus.PAID)
    assert root.password and booking.access_token_hash  # what must never leave
    return [root.password, booking.access_token_hash]


@pytest.mark.django_db
def test_every_export_uses_a_resource_that_lists_its_columns_and_names_no_secret(root):
    request, exporting = _exporting_admins(root)
    # the lists people export; an admin without a resource of ours has no export at all
    assert {Booking, Payment, Refund, CustomerProfile, User, DailyMetrics, MiniMovePackage, SpecialtyItem,
            SurchargeRule} <= {model for model, _ in exporting}
    for model, model_admin in exporting:
        assert model_admin.resource_classes, model
        for resource_class in model_admin.get_export_resource_classes(request):
            assert resource_class._meta.fields, (model, resource_class)  # listed, never "every field"
            for field in resource_class().get_export_fields():
                for name in (field.column_name, field.attribute or ""):
                    assert not SECRET.search(name), (model, resource_class, name)


@pytest.mark.django_db
def test_an_admin_without_a_listed_resource_has_no_export(root, client):
    _request, exporting = _exporting_admins(root)
    exporting_models = {model for model, _ in exporting}
    silent = [model for model, model_admin in admin.site._registry.items()
              if hasattr(model_admin, "has_export_permission") and model not in exporting_models]
    assert silent  # e.g. groups, staff profiles, addresses
    client.force_login(root)
    for model in silent:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_export")
        assert client.get(url).status_code == 403, model


@pytest.mark.django_db
def test_every_export_through_the_console_leaves_secrets_out(root, client, secrets_at_rest):
    client.force_login(root)
    _request, exporting = _exporting_admins(root)
    for model, model_admin in exporting:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_export")
        page = client.get(url)
        assert page.status_code == 200, model
        form = page.context["form"]
        every_column = {name: "on" for name, field in form.fields.items() if isinstance(field, forms.BooleanField)}
        csv_index = next(i for i, f in enumerate(model_admin.get_export_formats()) if issubclass(f, CSV))
        response = client.post(url, {"format": str(csv_index), "resource": "0", **every_column})
        assert response.status_code == 200, (model, response.content[:300])
        body = response.content.decode()
        header = next(csv.reader(io.StringIO(body)))
        assert header and not any(SECRET.search(column) for column in header), (model, header)
        for secret in secrets_at_rest:
            assert secret not in body, model


@pytest.mark.django_db
def test_every_streamed_export_leaves_secrets_out(root, client, secrets_at_rest):
    client.force_login(root)
    streaming = [model for model, model_admin in admin.site._registry.items()
                 if isinstance(model_admin, StreamingExportMixin)]
    assert Booking in streaming
    for model in streaming:
        response = client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_export_stream"))
        assert response.status_code == 200, model
        body = b"".join(response.streaming_content).decode()
        rows = list(csv.reader(io.StringIO(body)))
        assert len(rows) > 1 and not any(SECRET.search(column) for column in rows[0]), (model, rows[0])
        for secret in secrets_at_rest:
            assert secret not in body, model

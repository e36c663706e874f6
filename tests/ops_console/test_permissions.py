"""Every console page and booking action × every role (Operations, Finance, Admin, staff without a group)."""

import pytest
from django.urls import NoReverseMatch, reverse

from core.bookings.models import BookingStatus
from ops_console.admin.bookings.entries import ROW_ACTIONS
from tests.ops_console.conftest import ROLES

OPS, FIN, ADM = "operations", "finance", "admin"
ALL_ROLES = {OPS, FIN, ADM}

# url name -> roles that may open it (everyone else gets 403)
PAGES = {
    "admin:core_booking_changelist": ALL_ROLES,
    "admin:core_quote_changelist": ALL_ROLES,
    "admin:core_customerprofile_changelist": ALL_ROLES,
    "admin:core_customerprofile_add": {OPS, ADM},
    "admin:core_customerprofile_import": {OPS, ADM},
    "admin:core_address_changelist": ALL_ROLES,
    "admin:core_payment_changelist": {FIN, ADM},
    "admin:core_refund_changelist": {FIN, ADM},
    "admin:core_paymentaudit_changelist": {FIN, ADM},
    "admin:core_providerevent_changelist": {FIN, ADM},
    "admin:core_reconciliationmismatch_changelist": {FIN, ADM},
    "admin:core_dailymetrics_changelist": {FIN, ADM},
    "admin:core_notification_changelist": ALL_ROLES,
    "admin:core_emailtemplate_changelist": {OPS, ADM},
    "admin:core_suppression_changelist": {OPS, ADM},
    "admin:core_minimovepackage_changelist": ALL_ROLES,
    "admin:core_minimovepackage_add": {ADM},
    "admin:core_specialtyitem_changelist": ALL_ROLES,
    "admin:core_standarddeliveryrate_changelist": ALL_ROLES,
    "admin:core_surchargerule_changelist": ALL_ROLES,
    "admin:core_surchargerule_add": {ADM},
    "admin:core_surchargerule_import": {ADM},
    "admin:core_price_simulator": ALL_ROLES,
    "admin:core_changepolicy_changelist": ALL_ROLES,
    "admin:core_changepolicy_add": {ADM},
    "admin:core_booking_phone": {OPS, ADM},  # taking a customer's booking is an operations job, not Finance's
    "admin:core_vanschedule_changelist": ALL_ROLES,
    "admin:core_vanschedule_add": {OPS, ADM},
    "admin:core_user_changelist": {ADM},
    "admin:core_staffprofile_changelist": {ADM},
    "admin:auth_group_changelist": {ADM},
    "admin:core_booking_export": ALL_ROLES,
    "admin:core_payment_export": {FIN, ADM},
}

# booking action -> roles that may run it
ACTIONS = {
    "schedule": {OPS, ADM},
    "start": {OPS, ADM},
    "complete": {OPS, ADM},
    "cancel": {OPS, ADM},
    "note": {OPS, ADM},
    "resend": {OPS, ADM},
    "message": {OPS, ADM},
    "offline_payment": {OPS, FIN, ADM},  # Operations take cash/check/terminal payments for phone bookings
    "pay_link": {OPS, ADM},
    "refund": {ADM},
    "cancel_refund": {OPS, ADM},
    "reschedule": {OPS, ADM},
    "edit": {OPS, ADM},
}
# no bulk form: a message is written to one customer; a change is previewed and confirmed per booking
SINGLE_BOOKING_ONLY = {"message", "pay_link", "cancel_refund", "reschedule", "edit"}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_as_its_group_allows(role_client, role):
    client = role_client(role)
    for name, allowed in PAGES.items():
        response = client.get(reverse(name))
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, (role, name, response.status_code)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_booking_pages_per_role(role_client, role, make_booking):
    booking = make_booking(BookingStatus.PAID)
    client = role_client(role)
    for name in ("admin:core_booking_change", "admin:core_booking_history", "admin:core_booking_activity"):
        response = client.get(reverse(name, args=[booking.pk]))
        if role == "nogroup":
            assert response.status_code in (403, 404, 302), (name, response.status_code)
        else:
            assert response.status_code == 200, (role, name, response.status_code)
    user_activity = client.get(reverse("admin:core_user_activity", args=[client.user.pk]))
    assert user_activity.status_code == (200 if role == ADM else 404)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_booking_action_page_row_and_detail_link_per_role(role_client, role, make_booking):
    booking = make_booking(BookingStatus.PAID)
    client = role_client(role)
    for name, allowed in ACTIONS.items():
        page = client.get(reverse("admin:core_booking_action", args=[name]), {"ids": str(booking.pk)})
        detail = client.get(reverse(f"admin:core_booking_detail_{name}", args=[booking.pk]))
        # the list's row menu is short (ROW_ACTIONS); the other actions have no row button at all
        if name in ROW_ACTIONS:
            row = client.get(reverse(f"admin:core_booking_row_{name}", args=[booking.pk]))
        else:
            with pytest.raises(NoReverseMatch):
                reverse(f"admin:core_booking_row_{name}", args=[booking.pk])
            row = None
        if role in allowed:
            # 200: the confirmation page; 302: refused up front with a message (e.g. nothing to refund)
            assert page.status_code in (200, 302), (role, name, page.status_code)
            assert detail.status_code == 302 and (row is None or row.status_code == 302)
        else:
            assert page.status_code == 403, (role, name, page.status_code)
            assert detail.status_code == 403 and (row is None or row.status_code == 403), (role, name)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_bulk_actions_are_offered_only_to_roles_that_may_run_them(role_client, role, make_booking):
    booking = make_booking(BookingStatus.PAID)
    client = role_client(role)
    for name, allowed in ACTIONS.items():
        if name in SINGLE_BOOKING_ONLY:
            continue
        response = client.post(reverse("admin:core_booking_changelist"),
                               {"action": f"bulk_{name}", "_selected_action": [str(booking.pk)]})
        if role in allowed and name not in ("refund",):
            assert response.status_code == 200 and b'name="confirm"' in response.content, (role, name)
        elif role in allowed:  # refund: no refundable payment yet → greyed out, with the reason
            page = response.content.decode()
            assert response.status_code == 200 and 'data-testid="action-disabled"' in page, (role, name)
            assert "not applicable: nothing to refund (unpaid)." in page
        else:
            assert b'name="confirm"' not in getattr(response, "content", b""), (role, name)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_merge_action_per_role(role_client, role, make_booking):
    first, second = make_booking(), make_booking()
    client = role_client(role)
    response = client.post(reverse("admin:core_customerprofile_changelist"),
                           {"action": "merge_duplicates",
                            "_selected_action": [first.customer_id, second.customer_id]})
    if role in (OPS, ADM):
        assert response.status_code == 200 and b"Merge duplicate customers" in response.content
    else:  # the action is not offered: Django answers "No action selected" (or 403 without view permission)
        assert b"Merge duplicate customers" not in getattr(response, "content", b"")


SIDEBAR = {
    "/admin/core/booking/": ALL_ROLES,
    "/admin/core/payment/": {FIN, ADM},
    "/admin/core/refund/": {FIN, ADM},
    "/admin/core/emailtemplate/": {OPS, ADM},
    "/admin/core/surchargerule/simulator/": ALL_ROLES,
    "/admin/core/changepolicy/": ALL_ROLES,
    "/admin/core/user/": {ADM},
    "/admin/auth/group/": {ADM},
    "/admin/core/coi/": ALL_ROLES,  # the COI review desk
    "/admin/core/document/": ALL_ROLES,
    "/admin/core/building/": ALL_ROLES,
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_sidebar_shows_each_role_only_what_it_may_use(role_client, role):
    client = role_client(role)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    html = response.content.decode()
    for href, allowed in SIDEBAR.items():
        assert (f'href="{href}"' in html) == (role in allowed), (role, href)
    assert ("data-testid=\"dashboard\"" in html) == (role != "nogroup")
    assert ("Revenue, 30 days" in html) == (role in (FIN, ADM))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_registered_changelist_and_change_form_answers_each_role_without_error(role_client, role,
                                                                                     make_booking):
    from django.contrib import admin

    make_booking(BookingStatus.PAID)
    client = role_client(role)
    user = client.user
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        may_see = any(user.has_perm(f"{opts.app_label}.{a}_{opts.model_name}") for a in ("view", "change"))
        changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert changelist.status_code == (200 if may_see else 403), (role, opts.label, changelist.status_code)
        obj = model._default_manager.first()
        if obj is not None:
            change = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
            assert change.status_code == (200 if may_see else 403), (role, opts.label, change.status_code)


@pytest.mark.django_db
def test_forbidden_page_is_styled_and_shows_the_way_back(role_client, make_booking):
    from django.test import override_settings

    booking = make_booking()
    client = role_client("operations")
    client.raise_request_exception = False
    with override_settings(DEBUG=False):
        response = client.get(reverse("admin:core_booking_detail_refund", args=[booking.pk]),
                              HTTP_REFERER=f"http://testserver/admin/core/booking/{booking.pk}/change/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "unfold/css/styles.css" in page and "You don’t have access to this page" in page
    assert f'href="http://testserver/admin/core/booking/{booking.pk}/change/"' in page and 'href="/admin/"' in page
    assert "operations_user" in page
    with override_settings(DEBUG=False):
        elsewhere = client.get(reverse("admin:core_booking_detail_refund", args=[booking.pk]),
                               HTTP_REFERER="https://evil.example/")
    assert "evil.example" not in elsewhere.content.decode()

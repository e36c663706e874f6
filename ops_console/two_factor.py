"""Console two-factor pages (enrol, verify, recovery codes) and the middleware that enforces them."""

from __future__ import annotations

import io

import django_otp
import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.accounts.two_factor import (
    InvalidTwoFactorCode,
    has_two_factor,
    recovery_codes_left,
    recovery_codes_regenerate,
    totp_device_confirm,
    totp_device_start,
    two_factor_required,
    two_factor_verify,
)


class CodeForm(forms.Form):
    code = forms.CharField(label="Code", max_length=32, widget=forms.TextInput(attrs={
        "autocomplete": "one-time-code", "inputmode": "text", "autofocus": True,
        "class": "border border-base-200 rounded-default px-3 py-2 w-full"}))


def _to(name: str, target: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': target})}"


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return reverse("admin:index")


def _render(request, template: str, heading: str, **context):
    return render(request, f"ops_console/two_factor/{template}.html",
                  {**admin.site.each_context(request), "heading": heading, "title": heading,
                   "next": _next(request), **context})


def _refuse(form: CodeForm, exc: InvalidTwoFactorCode) -> None:
    for message in exc.fields.get("code", [exc.message]):
        form.add_error("code", message)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify_view(request):
    if not has_two_factor(request.user):
        return redirect(_to("ops_console_2fa_setup", _next(request)))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor_verify(user=request.user, token=form.cleaned_data["code"])
        except InvalidTwoFactorCode as exc:
            _refuse(form, exc)
        else:
            django_otp.login(request, device)
            return redirect(_next(request))
    return _render(request, "verify", "Two-factor authentication", form=form)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def setup_view(request):
    if has_two_factor(request.user) and not request.user.is_verified():
        return redirect(_to("ops_console_2fa_verify", _next(request)))  # a new phone: verify first
    device = totp_device_start(user=request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp_device_confirm(user=request.user, device=device, token=form.cleaned_data["code"])
        except InvalidTwoFactorCode as exc:
            _refuse(form, exc)
        else:
            django_otp.login(request, device)
            return _render(request, "recovery_codes", "Recovery codes", codes=codes)
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return _render(request, "setup", "Set up two-factor authentication", form=form,
                   qr_svg=buffer.getvalue().decode(), secret=_base32(device),
                   required=two_factor_required(request.user))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def manage_view(request):
    if not request.user.is_verified():
        return redirect(_to("ops_console_2fa_setup", request.path))
    if request.method == "POST":
        codes = recovery_codes_regenerate(user=request.user)
        messages.success(request, "New recovery codes made; the old ones no longer work.")
        return _render(request, "recovery_codes", "Recovery codes", codes=codes)
    return _render(request, "manage", "Two-factor authentication", codes_left=recovery_codes_left(request.user),
                   admin_index=reverse("admin:index"))


def _base32(device) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")


urlpatterns = [
    path("console/2fa/", manage_view, name="ops_console_2fa_manage"),
    path("console/2fa/verify/", verify_view, name="ops_console_2fa_verify"),
    path("console/2fa/setup/", setup_view, name="ops_console_2fa_setup"),
]


class TwoFactorMiddleware:
    """Console pages need a verified session from staff who must (or chose to) use two-factor authentication.

    Runs after django-otp's OTPMiddleware (which sets `request.user.is_verified()` from the session).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        redirect_to = self._redirect_for(request)
        return redirect(redirect_to) if redirect_to else self.get_response(request)

    @staticmethod
    def _redirect_for(request) -> str | None:
        try:
            admin_root = reverse("admin:index")
        except NoReverseMatch:  # a URLconf without the console
            return None
        user = getattr(request, "user", None)
        if not request.path.startswith(admin_root) or user is None or not user.is_authenticated:
            return None
        if not user.is_staff or user.is_verified():
            return None
        exempt = {reverse("admin:login"), reverse("admin:logout"), reverse("admin:jsi18n"),
                  reverse("ops_console_2fa_verify"), reverse("ops_console_2fa_setup")}
        if request.path in exempt:
            return None
        if has_two_factor(user):
            return _to("ops_console_2fa_verify", request.get_full_path())
        if two_factor_required(user):
            return _to("ops_console_2fa_setup", request.get_full_path())
        return None

"""The booking change form's few editable fields (customer notes, the attention flag), saved by core services."""

from __future__ import annotations

from django import forms
from django.contrib import messages

from core.bookings.services import (
    booking_flag,
    booking_flag_clear,
    booking_notes_update,
    flag_reason_problems,
)
from core.common.errors import DomainError


class BookingEditForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        flag_edited = {"needs_attention", "attention_reason"} & set(self.changed_data)
        if flag_edited and cleaned.get("needs_attention"):
            for problem in flag_reason_problems(cleaned.get("attention_reason") or ""):
                self.add_error("attention_reason", problem)
        return cleaned


class BookingEditMixin:
    """The form never saves the booking itself: each edited concern goes to its service (row lock, audit)."""

    form = BookingEditForm

    def save_model(self, request, obj, form, change):
        edited, data, actor = set(form.changed_data), form.cleaned_data, request.user
        try:
            if "notes" in edited:
                booking_notes_update(booking=obj, notes=data["notes"], actor=actor)
            if edited & {"needs_attention", "attention_reason"}:
                if data["needs_attention"]:
                    # attention_due is not on the form: obj still holds the stored deadline, which stays.
                    booking_flag(booking=obj, reason=data["attention_reason"], due=obj.attention_due, actor=actor)
                else:
                    booking_flag_clear(booking=obj, actor=actor)
        except DomainError as exc:
            self.message_user(request, f"{obj.booking_number}: {exc.message}", messages.ERROR)

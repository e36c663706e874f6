"""One enumeration of client-visible error codes: every DomainError takes its code from it."""

import importlib
import pkgutil

import pytest

import core
from core.common.errors import DomainError, ErrorCode, NotFound
from core.payments.errors import NotPayable


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def _import_every_core_module():
    for module in pkgutil.walk_packages(core.__path__, prefix="core."):
        if ".migrations" not in module.name and ".management" not in module.name:
            importlib.import_module(module.name)


def test_every_domain_error_uses_a_listed_code_and_the_status_that_goes_with_it():
    _import_every_core_module()
    subclasses = list(_all_subclasses(DomainError))

    assert len(subclasses) > 20
    for cls in subclasses:
        assert isinstance(cls.code, ErrorCode), cls
        assert cls.status == cls.code.status, cls


def test_each_code_has_one_meaning_and_one_status():
    assert len({str(code) for code in ErrorCode}) == len(ErrorCode)
    for code in ErrorCode:
        assert code.meaning.endswith(".") and 400 <= code.status < 600, code


def test_a_payment_that_cannot_be_made_no_longer_answers_like_a_booking_status_change():
    assert NotPayable().code == ErrorCode.NOT_PAYABLE != ErrorCode.INVALID_TRANSITION


def test_an_unlisted_code_is_refused_when_the_class_is_defined_and_when_raised():
    with pytest.raises(ValueError, match="not in core.common.errors.ErrorCode"):
        type("Made", (DomainError,), {"code": "made_up_code"})
    with pytest.raises(ValueError, match="not in core.common.errors.ErrorCode"):
        NotFound("x", code="made_up_code")


def test_a_code_given_when_raising_brings_its_status():
    error = NotPayable("The hold expired.", code="hold_expired")

    assert error.code is ErrorCode.HOLD_EXPIRED and error.status == 409
    assert error.as_dict() == {"code": "hold_expired", "message": "The hold expired.", "fields": {}}

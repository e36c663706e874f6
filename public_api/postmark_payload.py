"""The shape of a Postmark tracking webhook body, checked before anymail parses it.

Fields as Postmark documents them for Delivery, Bounce, SpamComplaint, Open, Click and SubscriptionChange;
fields we do not read pass through unchecked (except for NUL characters, which nothing stores).
"""

from typing import Annotated, Literal

from django.utils.dateparse import parse_datetime
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    model_validator,
)

from core.common.payloads import contains_nul


class MalformedPostmarkEvent(ValueError):
    """An authenticated Postmark post whose body is not a tracking event."""


def _iso_datetime(value: str) -> str:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError("not an ISO 8601 date and time")
    return value


Timestamp = Annotated[StrictStr, AfterValidator(_iso_datetime)]


class PostmarkTrackingPayload(BaseModel):
    model_config = ConfigDict(extra="allow")

    RecordType: Literal["Delivery", "Bounce", "SpamComplaint", "Open", "Click", "SubscriptionChange"]
    MessageID: Annotated[StrictStr, StringConstraints(min_length=1)]
    MessageStream: StrictStr | None = None
    ID: StrictInt | StrictStr | None = None
    Type: StrictStr | None = None
    Recipient: StrictStr | None = None
    Email: StrictStr | None = None
    Tag: StrictStr | None = None
    Metadata: dict[StrictStr, StrictStr] | None = None
    Description: StrictStr | None = None
    Details: StrictStr | None = None
    Inactive: StrictBool | None = None
    SuppressSending: StrictBool | None = None
    SuppressionReason: StrictStr | None = None
    DeliveredAt: Timestamp | None = None
    BouncedAt: Timestamp | None = None
    ReceivedAt: Timestamp | None = None
    ChangedAt: Timestamp | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data):
        if contains_nul(data):
            raise ValueError("NUL character in the body")
        return data

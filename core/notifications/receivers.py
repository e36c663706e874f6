"""Signal receivers that only translate a provider's event into a service call.

`anymail_tracking` is connected to anymail's `tracking` signal by the interface that serves the webhook
(public_api/notification_webhooks.py), for events sent by its Postmark view only.
"""

import logging

from core.common.audit import acting_as
from core.notifications.services import EmailEvent, email_event_record

# Postmark bounce types after which it stops sending to the address (its webhook says "Inactive": true).
_DEACTIVATING = {"HardBounce", "SpamComplaint", "BadEmailAddress", "ManuallyDeactivated"}

logger = logging.getLogger(__name__)


def anymail_tracking(sender, event, esp_name, **kwargs):
    esp_event = event.esp_event if isinstance(event.esp_event, dict) else {}
    deactivates = bool(esp_event.get("Inactive")) or esp_event.get("Type") in _DEACTIVATING
    if event.event_type == "unsubscribed" and esp_event.get("SuppressSending", True):
        deactivates = True
    with acting_as(None, user_agent=f"webhook:{esp_name}"):
        email_event_record(
            event=EmailEvent(
                event_type=event.event_type,
                message_id=event.message_id or "",
                recipient=event.recipient or "",
                event_id=event.event_id,
                record_type=esp_event.get("RecordType", ""),
                notification_id=(event.metadata or {}).get("notification_id"),
                timestamp=event.timestamp,
                reject_reason=event.reject_reason,
                description=event.description or "",
                mta_response=event.mta_response or "",
                deactivates=deactivates,
            ),
            provider=str(esp_name).lower(),
        )

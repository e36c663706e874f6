from django.db import models
from simple_history.models import HistoricalRecords


class BaseModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditedHistoricalModel(models.Model):
    """Abstract base of every history table: who (simple-history's user), from which IP, with which agent."""

    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True, default="")

    class Meta:
        abstract = True


def audited_history(**kwargs) -> HistoricalRecords:
    """HistoricalRecords with our IP/user-agent columns and the audit-context user lookup."""
    from core.common.audit import history_user_getter

    kwargs.setdefault("bases", [AuditedHistoricalModel])
    kwargs.setdefault("get_user", history_user_getter)
    return HistoricalRecords(**kwargs)


class StoredEvent(models.Model):
    """A provider's webhook delivery, kept as received and processed after commit (core.common.events)."""

    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    processing_error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True

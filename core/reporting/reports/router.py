"""Keeps the optional read-only "reporting" alias out of migrations and writes; reads go there explicitly
(report selectors call `.using(report_db())`), so no other read moves to a replica that may lag."""

from core.reporting.reports.base import REPORTING_ALIAS


class ReportingRouter:
    def db_for_read(self, model, **hints):
        return None

    def db_for_write(self, model, **hints):
        return "default" if hints.get("instance") is not None and hints["instance"]._state.db == REPORTING_ALIAS \
            else None

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPORTING_ALIAS else None

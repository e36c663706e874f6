"""Finance and operations reports: every figure is a grouped SQL aggregate (see base.py).

`REPORT_TYPES` is the one list of what can be run, with the permission each needs (Report.Meta.permissions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.reporting.reports.base import Column, Grouping, ReportResult, Section, report_db
from core.reporting.reports.custom import custom_report
from core.reporting.reports.customer import customer_report
from core.reporting.reports.operational import operational_report
from core.reporting.reports.revenue import Basis, revenue_figures, revenue_report


@dataclass(frozen=True)
class ReportType:
    key: str
    label: str
    run: Callable[..., ReportResult]
    permission: str  # "core.<codename>"


REPORT_TYPES = {
    "revenue": ReportType("revenue", "Revenue", revenue_report, "core.run_revenue_report"),
    "operational": ReportType("operational", "Operations", operational_report, "core.run_operational_report"),
    "customer": ReportType("customer", "Customers", customer_report, "core.run_customer_report"),
    "custom": ReportType("custom", "Custom", custom_report, "core.run_custom_report"),
}
MONTH_CLOSE_PERMISSION = "core.export_month_close"

__all__ = ["MONTH_CLOSE_PERMISSION", "REPORT_TYPES", "Basis", "Column", "Grouping", "ReportResult", "ReportType",
           "Section", "custom_report", "customer_report", "operational_report", "report_db", "revenue_figures",
           "revenue_report"]

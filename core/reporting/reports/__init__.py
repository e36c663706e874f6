"""Finance and operations reports: every figure is a grouped SQL aggregate (see base.py)."""

from core.reporting.reports.base import Column, Grouping, ReportResult, Section, report_db
from core.reporting.reports.revenue import Basis, revenue_figures, revenue_report

__all__ = ["Basis", "Column", "Grouping", "ReportResult", "Section", "report_db", "revenue_figures",
           "revenue_report"]

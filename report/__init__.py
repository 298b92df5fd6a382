"""The coordinator's report: ``report.html`` and the analysis behind it."""

from report.analysis import suggest_fixes
from report.html import render_report

__all__ = ["render_report", "suggest_fixes"]

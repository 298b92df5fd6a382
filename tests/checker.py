"""The schedule checker, now part of the product (``scheduler.validate``); kept for the tests' imports."""

from scheduler.validate import check_schedule as check
from scheduler.validate import expand_series

__all__ = ["check", "expand_series"]

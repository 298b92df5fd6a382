"""The cohort: domain types, input loading and validation, and program settings."""

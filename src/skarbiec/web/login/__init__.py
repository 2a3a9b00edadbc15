"""Logging in to the internet service and its public pages (R-W1–R-W3, R-M11)."""

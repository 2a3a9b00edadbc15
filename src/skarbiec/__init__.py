"""Skarbiec: internet and mobile banking for credit unions."""

__version__ = "0.1.0"

"""Transfers, trusted payees and limits (R-L3, R-L4, R-O2, R-O4)."""

"""The start page, accounts and their history (R-L1, R-L5)."""

"""CSV files members and staff open in a spreadsheet."""

# What a spreadsheet reads as the start of a formula (and the whitespace some skip before it).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(text: str) -> str:
    """A cell that would run as a formula when the file opens in a spreadsheet (a title like
    "=HYPERLINK(...)", a User-Agent) starts with a quote instead (CSV injection). Spaces
    before the formula (a no-break space too) do not hide it: some spreadsheets skip them."""
    formula = text[:1] in FORMULA_STARTS or text.lstrip()[:1] in FORMULA_STARTS
    return "'" + text if formula else text

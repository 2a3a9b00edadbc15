"""The income and expenses chart of the start page as plain SVG geometry (R-L5).

Drawn on the server: no script, no inline styles (the CSP allows neither), colours come from
classes in start.css. The same figures are in a table next to the chart for screen readers.
"""

from dataclasses import dataclass

from skarbiec.ledger.overview import MonthTotals

WIDTH = 600
HEIGHT = 240
AXIS_Y = 200  # the baseline; month labels below it
TOP = 16
BAR_AREA = AXIS_Y - TOP


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class ChartMonth:
    totals: MonthTotals
    income: Bar
    expenses: Bar
    label_x: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    axis_y: int
    months: list[ChartMonth]
    has_data: bool


def _height(amount_minor: int, largest: int) -> float:
    if amount_minor <= 0 or largest <= 0:
        return 0.0
    # A small amount still shows as a sliver rather than disappearing.
    return round(max(BAR_AREA * amount_minor / largest, 2.0), 1)


def monthly_chart(totals: list[MonthTotals]) -> Chart:
    largest = max([max(t.income_minor, t.expenses_minor) for t in totals] + [0])
    slot = WIDTH / max(len(totals), 1)
    bar = slot * 0.3
    months = []
    for i, t in enumerate(totals):
        left = i * slot + slot * 0.15
        h_in, h_out = _height(t.income_minor, largest), _height(t.expenses_minor, largest)
        months.append(
            ChartMonth(
                totals=t,
                income=Bar(round(left, 1), AXIS_Y - h_in, round(bar, 1), h_in),
                expenses=Bar(
                    round(left + bar + slot * 0.1, 1), AXIS_Y - h_out, round(bar, 1), h_out
                ),
                label_x=round(i * slot + slot / 2, 1),
            )
        )
    return Chart(WIDTH, HEIGHT, AXIS_Y, months, largest > 0)

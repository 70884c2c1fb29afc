"""Every figure of the reports against answers worked out by hand from the data set in
`fixtures.py` (read its docstring first: each record, its moment in Madrid and its month).

The answers are literal numbers with their arithmetic in a comment; none is computed by the
code under test. "Today" is 15 April 2026 (10:00 in Madrid) wherever a figure reads the clock.
"""

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from crm.reports import metrics
from crm.reports.metrics import MEASURES, RATIOS, UnknownName
from crm.reports.models import Target, TargetMetric
from crm.reports.periods import Period, PeriodKind
from crm.reports.selectors import (
    PlanSubject,
    ReportSpec,
    dashboard,
    pipeline_report,
    plan,
    plan_subjects_for_user,
    report,
)
from crm.reports.services import snapshot_take
from crm.reports.tests.fixtures import NOW, build_data_set, use_fiscal_year, utc
from crm.sales.models import StageChange
from crm.sales.tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

D = Decimal
JAN_TO_DATE = Period(dt.date(2026, 1, 1), dt.date(2026, 4, 15))  # 2026 up to "today"
APRIL_TO_DATE = Period(dt.date(2026, 4, 1), dt.date(2026, 4, 15), PeriodKind.MONTH)


def M(year: int, month: int) -> dt.date:
    return dt.date(year, month, 1)


@pytest.fixture
def data(db, english):
    return build_data_set()


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def run(
    user,
    measure,
    settings,
    *,
    dimension=None,
    granularity="month",
    view="monthly",
    period=JAN_TO_DATE,
    filters=(),
):
    spec = ReportSpec(measure, dimension, granularity, view, period, filters)
    return report(user=user, spec=spec, settings=settings)


def rows(table) -> dict:
    return {row.label: [cell.value for cell in row.cells] for row in table.rows}


def labels(table) -> list:
    return [row.label for row in table.rows]


def total(table) -> list:
    return [cell.value for cell in table.total.cells]


def query(link: str) -> dict:
    return {key: value[0] for key, value in parse_qs(urlsplit(link).query).items()}


# -- metrics.monthly: every measure, by its month in Madrid --

WHOLE_SPAN = Period(dt.date(2025, 1, 1), dt.date(2026, 4, 30))

MONTHLY = {
    # L6 | L7, L10 | L8 (31 Dec 23:00Z = 1 Jan) | L1, L3 (23:59:59 on 31 Mar), L4 |
    # L2 (22:30Z on 31 Mar = 1 Apr), L5, L9
    "leads_new": {
        M(2025, 3): 1, M(2025, 4): 2, M(2026, 1): 1, M(2026, 3): 3, M(2026, 4): 3,
    },
    # L6 -> D6 | L1 -> D1, L4 -> D2 | L5 -> D4
    "leads_converted": {M(2025, 3): 1, M(2026, 3): 2, M(2026, 4): 1},
    # D7 | D6 | D8 | D12 | D5 | D3 (30 Nov 23:00Z = 1 Dec) | D11 | D13 |
    # D1, D9 (28 Feb 23:00Z = 1 Mar), D2 | D4, D10
    "deals_new": {
        M(2025, 1): 1, M(2025, 3): 1, M(2025, 4): 1, M(2025, 10): 1, M(2025, 11): 1,
        M(2025, 12): 1, M(2026, 1): 1, M(2026, 2): 1, M(2026, 3): 3, M(2026, 4): 2,
    },
    # March 2026: D1 800 + D9 300 + D2 1,500 = 2,600; April: D4 1,200 + D10 1,000 = 2,200
    "pipeline_created": {
        M(2025, 1): 600, M(2025, 3): 1000, M(2025, 4): 400, M(2025, 10): 500,
        M(2025, 11): 700, M(2025, 12): 2000, M(2026, 1): 2000, M(2026, 2): 3000,
        M(2026, 3): 2600, M(2026, 4): 2200,
    },
    # D7 | D6 | D3 (31 Dec 23:00Z = 1 Jan) | D2 (21:59:59Z on 31 Mar) | D1 (22:30Z), D4
    "deals_won": {M(2025, 1): 1, M(2025, 4): 1, M(2026, 1): 1, M(2026, 3): 1, M(2026, 4): 2},
    # April 2026: D1 800 + D4 1,200 = 2,000
    "revenue_won": {
        M(2025, 1): 600, M(2025, 4): 1000, M(2026, 1): 2000, M(2026, 3): 1500, M(2026, 4): 2000,
    },
    # D8 (cancelled) | D5 (22:59:59Z on 31 Dec = 23:59:59 in Madrid) | D9 (12 Mar 00:00)
    "deals_lost": {M(2025, 4): 1, M(2025, 12): 1, M(2026, 3): 1},
    "amount_lost": {M(2025, 4): 400, M(2025, 12): 700, M(2026, 3): 300},
    # won + lost: April 2025 D6 + D8; March 2026 D2 + D9
    "deals_closed": {
        M(2025, 1): 1, M(2025, 4): 2, M(2025, 12): 1, M(2026, 1): 1, M(2026, 3): 2,
        M(2026, 4): 2,
    },
    # D7 10 | D6 30 | D3 31 | D2 20 | D1 30 + D4 10 = 40
    "cycle_days_won": {
        M(2025, 1): 10, M(2025, 4): 30, M(2026, 1): 31, M(2026, 3): 20, M(2026, 4): 40,
    },
    # Q4 | Q5 | Q2 (21:00Z on 31 Mar) | Q1 (22:30Z on 31 Mar = 1 Apr), Q3; Q6 never sent
    "quotes_sent": {M(2025, 3): 1, M(2025, 4): 1, M(2026, 3): 1, M(2026, 4): 2},
    # April 2026: Q1 800 + Q3 2,000 = 2,800
    "quotes_sent_amount": {M(2025, 3): 1000, M(2025, 4): 400, M(2026, 3): 1500, M(2026, 4): 2800},
    # by sending month: Q4 | Q2 | Q1 (Q3 unanswered, Q5 rejected)
    "quotes_accepted": {M(2025, 3): 1, M(2026, 3): 1, M(2026, 4): 1},
    # the lines of the same quotes: April 2026 Router 500 + Instalación 300 + Router 2,000
    "product_quoted": {M(2025, 3): 1000, M(2025, 4): 400, M(2026, 3): 1500, M(2026, 4): 2800},
    # lines of accepted quotes by answer: Q4 (1 Apr 2025) | Q2 (31 Mar 23:59:59) | Q1 (1 Apr)
    "product_sold": {M(2025, 4): 1000, M(2026, 3): 1500, M(2026, 4): 800},
    # A5 | A2 (21:59:59Z on 31 Mar) | A1 (22:30Z on 31 Mar), A3, A4 (A7 was cancelled)
    "activities_done": {M(2025, 4): 1, M(2026, 3): 1, M(2026, 4): 3},
}  # fmt: skip


def test_every_measure_has_a_hand_computed_answer():
    assert set(MONTHLY) == set(MEASURES)


@pytest.mark.parametrize("measure", sorted(MONTHLY))
def test_monthly_places_each_record_in_its_month_in_madrid(data, measure):
    # when
    result = metrics.monthly(
        user=data.admin, measures=[measure], period=WHOLE_SPAN, tz=use_fiscal_year(1).tz
    )[measure]

    # then
    assert {month: value for (_none, month), value in result.items() if value} == MONTHLY[measure]


def test_totals_of_several_periods_in_one_go(data):
    # given the first quarter of 2026, April to date and the whole of 2025
    periods = [
        Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
        APRIL_TO_DATE,
        Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
    ]

    # when
    result = metrics.totals(
        user=data.admin,
        measures=["deals_won", "deals_closed", "revenue_won", "cycle_days_won"],
        periods=periods,
        tz=use_fiscal_year(1).tz,
    )

    # then
    assert result == [
        # D3 2,000 + D2 1,500; closed also D9; 31 + 20 days
        {"deals_won": 2, "deals_closed": 3, "revenue_won": 3500, "cycle_days_won": 51},
        # D1 800 + D4 1,200; 30 + 10 days
        {"deals_won": 2, "deals_closed": 2, "revenue_won": 2000, "cycle_days_won": 40},
        # D7 600 + D6 1,000 (D3 counts in 2026); closed also D8 and D5; 10 + 30 days
        {"deals_won": 2, "deals_closed": 4, "revenue_won": 1600, "cycle_days_won": 40},
    ]
    # a ratio of each period's sums: 2/3, 2/2, 2/4
    assert [metrics.compute("win_rate", r) for r in result] == [D("66.7"), D("100.0"), D("50.0")]


# -- report views: monthly --


@pytest.mark.parametrize("start_month", [1, 4])
def test_report_by_month_puts_the_edge_records_in_their_madrid_month(data, start_month):
    # when revenue won from January 2026 to today, by month (the fiscal year makes no
    # difference to months)
    result = run(data.admin, "revenue_won", use_fiscal_year(start_month))

    # then Jan: D3 (1 Jan 00:00 in Madrid); Mar: D2 (31 Mar 23:59:59); Apr: D1 (1 Apr 00:30)
    # 800 + D4 1,200; total 2,000 + 1,500 + 2,000 = 5,500. Counting in UTC would give
    # 0 | 0 | 2,300 | 1,200.
    table = result.tables[0]
    assert table.headers == ["", "Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026", "Total"]
    assert rows(table) == {"Total": [2000, 0, 1500, 2000, 5500]}
    assert table.total is None
    # each cell links to its records: April's are from 1 to 15 April
    assert query(table.rows[0].cells[3].link) == {
        "measure": "revenue_won",
        "start": "2026-04-01",
        "end": "2026-04-15",
    }


@pytest.mark.parametrize(
    ("start_month", "headers", "values"),
    [
        # Fiscal quarters from April: Q1 Apr-Jun 2025 D6 1,000; Q4 Jan-Mar 2026 D3 2,000 +
        # D2 1,500 = 3,500; total 4,500.
        (4, ["Q1 2025/26", "Q2 2025/26", "Q3 2025/26", "Q4 2025/26"], [1000, 0, 0, 3500, 4500]),
        # Calendar quarters: the same months are Q2 to Q4 2025 and Q1 2026.
        (1, ["Q2 2025", "Q3 2025", "Q4 2025", "Q1 2026"], [1000, 0, 0, 3500, 4500]),
    ],
)
def test_report_by_fiscal_quarter(data, start_month, headers, values):
    period = Period(dt.date(2025, 4, 1), dt.date(2026, 3, 31))

    result = run(
        data.admin,
        "revenue_won",
        use_fiscal_year(start_month),
        granularity="quarter",
        period=period,
    )

    assert result.tables[0].headers == ["", *headers, "Total"]
    assert rows(result.tables[0]) == {"Total": values}


@pytest.mark.parametrize(
    ("start_month", "headers", "values"),
    [
        # 2024/25 (Jan-Mar 2025): D7 600; 2025/26: D6 1,000 + D3 2,000 + D2 1,500 = 4,500;
        # 2026/27 to 15 April: D1 800 + D4 1,200 = 2,000; total 7,100
        (4, ["2024/25", "2025/26", "2026/27"], [600, 4500, 2000, 7100]),
        # 2025: D7 600 + D6 1,000 = 1,600; 2026: 2,000 + 1,500 + 2,000 = 5,500
        (1, ["2025", "2026"], [1600, 5500, 7100]),
    ],
)
def test_report_by_fiscal_year(data, start_month, headers, values):
    period = Period(dt.date(2025, 1, 1), dt.date(2026, 4, 15))

    result = run(
        data.admin, "revenue_won", use_fiscal_year(start_month), granularity="year", period=period
    )

    assert result.tables[0].headers == ["", *headers, "Total"]
    assert rows(result.tables[0]) == {"Total": values}


def test_report_by_fiscal_quarter_and_team(data):
    period = Period(dt.date(2025, 4, 1), dt.date(2026, 3, 31))

    result = run(
        data.admin,
        "revenue_won",
        use_fiscal_year(4),
        dimension="team",
        granularity="quarter",
        period=period,
    )

    # Norte: D6 1,000 (Q1), D3 2,000 (Q4, 1 January); Sur: D2 1,500 (Q4, 31 March)
    table = result.tables[0]
    assert rows(table) == {"Norte": [1000, 0, 0, 2000, 3000], "Sur": [0, 0, 0, 1500, 1500]}
    assert total(table) == [1000, 0, 0, 3500, 4500]
    # the Q4 cell of Sur lists its records from January to March
    assert query(table.rows[1].cells[3].link) == {
        "measure": "revenue_won",
        "start": "2026-01-01",
        "end": "2026-03-31",
        "team": str(data.sur.pk),
    }


def test_report_of_a_period_starting_mid_month(data):
    # when deals closed from 15 March to 15 April 2026
    period = Period(dt.date(2026, 3, 15), dt.date(2026, 4, 15))
    result = run(data.admin, "deals_closed", use_fiscal_year(1), period=period)

    # then March counts from the 15th: D2 (31 March), not D9 (12 March); April D1, D4
    table = result.tables[0]
    assert table.headers == ["", "Mar 2026", "Apr 2026", "Total"]
    assert rows(table) == {"Total": [1, 2, 3]}
    assert query(table.rows[0].cells[0].link)["start"] == "2026-03-15"


def test_ratio_by_fiscal_quarter_divides_the_quarters_sums(data):
    period = Period(dt.date(2025, 4, 1), dt.date(2026, 3, 31))

    result = run(data.admin, "win_rate", use_fiscal_year(4), granularity="quarter", period=period)

    # Q1 D6 won, D8 lost: 1/2 | Q2 nothing closed | Q3 D5 lost: 0/1 | Q4 D3, D2 won, D9
    # lost: 2/3 | the year: 3 won of 6 closed
    assert rows(result.tables[0]) == {"Total": [D("50.0"), None, D("0.0"), D("66.7"), D("50.0")]}


# Revenue won, January to 15 April 2026 (Jan, Feb, Mar, Apr, Total), by each dimension:
# D3 Ana Feria A 2,000 (Jan) | D2 Bruno Feria B 1,500 (Mar) | D1 Ana Web A 800 and
# D4 Marta Web M 1,200 (Apr).
BY_DIMENSION = [
    (
        "revenue_won",
        "owner",
        ["Ana Alonso", "Bruno Blanco", "Marta Martín"],  # by total: 2,800, 1,500, 1,200
        {
            "Ana Alonso": [2000, 0, 0, 800, 2800],
            "Bruno Blanco": [0, 0, 1500, 0, 1500],
            "Marta Martín": [0, 0, 0, 1200, 1200],
        },
    ),
    (
        "revenue_won",
        "team",
        ["Norte", "Sur"],
        {"Norte": [2000, 0, 0, 2000, 4000], "Sur": [0, 0, 1500, 0, 1500]},
    ),
    (
        "revenue_won",
        "channel",
        ["Feria", "Web"],  # 2,000 + 1,500 = 3,500 against 800 + 1,200 = 2,000
        {"Feria": [2000, 0, 1500, 0, 3500], "Web": [0, 0, 0, 2000, 2000]},
    ),
    (
        "revenue_won",
        "role",
        ["Sales manager", "Sales rep"],  # the roles' own order
        {"Sales manager": [0, 0, 0, 1200, 1200], "Sales rep": [2000, 0, 1500, 800, 4300]},
    ),
    (
        "revenue_won",
        "province",
        ["Madrid", "Barcelona"],  # accounts A and M are in Madrid, B in Barcelona
        {"Madrid": [2000, 0, 0, 2000, 4000], "Barcelona": [0, 0, 1500, 0, 1500]},
    ),
    (
        "revenue_won",
        "sector",
        ["Comercio", "Industria"],  # A is Comercio; B and M Industria: 1,500 + 1,200
        {"Comercio": [2000, 0, 0, 800, 2800], "Industria": [0, 0, 1500, 1200, 2700]},
    ),
    (
        # New deals by their stage now, in the pipeline's order: D11 (Jan), D13 (Feb),
        # D1, D9, D2 (Mar), D4, D10 (Apr)
        "deals_new",
        "stage",
        ["En análisis", "Oferta presentada", "En negociación", "Ganada", "Perdida"],
        {
            "En análisis": [0, 0, 0, 1, 1],  # D10
            "Oferta presentada": [1, 0, 0, 0, 1],  # D11
            "En negociación": [0, 1, 0, 0, 1],  # D13
            "Ganada": [0, 0, 2, 1, 3],  # D1, D2 | D4
            "Perdida": [0, 0, 1, 0, 1],  # D9
        },
    ),
    (
        # D13 has no channel: last, as "(not set)"
        "deals_new",
        "channel",
        ["Web", "Feria", "(not set)"],
        {
            "Web": [0, 0, 2, 2, 4],  # D9, D1 | D4, D10
            "Feria": [1, 0, 1, 0, 2],  # D11 | D2
            "(not set)": [0, 1, 0, 0, 1],  # D13
        },
    ),
    (
        # Quote lines by sending: Q2 (Mar) Instalación 1,500; Q1 (Apr) Router 500 +
        # Instalación 300; Q3 (Apr) Router 2,000
        "product_quoted",
        "product",
        ["ROUTER · Router", "INST · Instalación"],
        {"ROUTER · Router": [0, 0, 0, 2500, 2500], "INST · Instalación": [0, 0, 1500, 300, 1800]},
    ),
    (
        "product_quoted",
        "category",
        ["Productos", "Servicios"],
        {"Productos": [0, 0, 0, 2500, 2500], "Servicios": [0, 0, 1500, 300, 1800]},
    ),
    (
        # Lines of accepted quotes by answer: Q2 (Mar) 1,500; Q1 (Apr) 500 + 300
        "product_sold",
        "category",
        ["Servicios", "Productos"],
        {"Servicios": [0, 0, 1500, 300, 1800], "Productos": [0, 0, 0, 500, 500]},
    ),
    (
        # L8 (Jan), L1 (Mar), L2 (Apr) | L3, L4 (Mar) | L5 (Apr) | L9 nobody's (Apr)
        "leads_new",
        "owner",
        ["Ana Alonso", "Bruno Blanco", "Marta Martín", "(not set)"],
        {
            "Ana Alonso": [1, 0, 1, 1, 3],
            "Bruno Blanco": [0, 0, 2, 0, 2],
            "Marta Martín": [0, 0, 0, 1, 1],
            "(not set)": [0, 0, 0, 1, 1],
        },
    ),
    (
        # Leads carry their own province: Ana's and Marta's in Madrid, Bruno's in Barcelona
        "leads_new",
        "province",
        ["Madrid", "Barcelona", "(not set)"],
        {
            "Madrid": [1, 0, 1, 2, 4],
            "Barcelona": [0, 0, 2, 0, 2],
            "(not set)": [0, 0, 0, 1, 1],
        },
    ),
    (
        # A2 meeting (Mar) | A1, A3 calls, A4 visit (Apr), in the kinds' own order
        "activities_done",
        "kind",
        ["Call", "Meeting", "Visit"],
        {"Call": [0, 0, 0, 2, 2], "Meeting": [0, 0, 1, 0, 1], "Visit": [0, 0, 0, 1, 1]},
    ),
    (
        "activities_done",
        "team",
        ["Norte", "Sur"],
        {"Norte": [0, 0, 1, 2, 3], "Sur": [0, 0, 0, 1, 1]},  # A2 | A1, A4 ; A3
    ),
]


@pytest.mark.parametrize(
    ("measure", "dimension", "order", "expected"),
    BY_DIMENSION,
    ids=[f"{m}-{d}" for m, d, _o, _e in BY_DIMENSION],
)
def test_report_by_dimension(data, measure, dimension, order, expected):
    # when
    result = run(data.admin, measure, use_fiscal_year(1), dimension=dimension)

    # then each value's row, and a total row that adds them up month by month
    table = result.tables[0]
    assert rows(table) == expected
    assert labels(table) == order
    assert total(table) == [sum(column) for column in zip(*expected.values(), strict=True)]


def test_a_dimension_row_links_to_its_records(data):
    result = run(data.admin, "revenue_won", use_fiscal_year(1), dimension="owner")

    ana = result.tables[0].rows[0]
    assert ana.key == str(data.ana.pk)
    assert query(ana.cells[0].link) == {
        "measure": "revenue_won",
        "start": "2026-01-01",
        "end": "2026-01-31",
        "owner": str(data.ana.pk),
    }


def test_report_filtered_by_a_dimension_value(data):
    settings = use_fiscal_year(1)

    # Web only: D1 800 + D4 1,200 in April
    web = run(data.admin, "revenue_won", settings, filters=(("channel", str(data.web.pk)),))
    # deals without a channel: D13 (Feb)
    unset = run(data.admin, "deals_new", settings, filters=(("channel", "-"),))

    assert rows(web.tables[0]) == {"Total": [0, 0, 0, 2000, 2000]}
    assert rows(unset.tables[0]) == {"Total": [0, 1, 0, 0, 1]}


# Each ratio by month, January to 15 April 2026 (Jan, Feb, Mar, Apr, Total); a month with
# nothing to divide by is None, and the total divides the sums.
RATIO_MONTHS = {
    # L8 0/1 | no leads | L1, L4 of L1, L3, L4: 2/3 | L5 of L2, L5, L9: 1/3 | 3/7 = 42.86
    "lead_conversion": [D("0.0"), None, D("66.7"), D("33.3"), D("42.9")],
    # D3 1/1 | - | D2 of D2, D9: 1/2 | D1, D4: 2/2 | 4/5
    "win_rate": [D("100.0"), None, D("50.0"), D("100.0"), D("80.0")],
    # 2,000/1 | - | 1,500/1 | 2,000/2 | 5,500/4
    "average_deal": [D("2000.0"), None, D("1500.0"), D("1000.0"), D("1375.0")],
    # D3 31 | - | D2 20 | (D1 30 + D4 10)/2 | (31 + 20 + 40)/4 = 22.75
    "sales_cycle": [D("31.0"), None, D("20.0"), D("20.0"), D("22.8")],
    # no quote/1 | - | Q2/1 | Q1, Q3/2 | 3/4 = 0.75
    "quotes_per_won": [D("0.0"), None, D("1.0"), D("1.0"), D("0.8")],
    # 0/1 | - | A2/1 | A1, A3, A4/2 | 4/4
    "activities_per_won": [D("0.0"), None, D("1.0"), D("1.5"), D("1.0")],
    # nothing sent | - | Q2 of Q2: 1/1 | Q1 of Q1, Q3: 1/2 | 2/3
    "acceptance_rate": [None, None, D("100.0"), D("50.0"), D("66.7")],
}


def test_every_ratio_has_a_hand_computed_answer():
    assert set(RATIO_MONTHS) == set(RATIOS)


@pytest.mark.parametrize("ratio", sorted(RATIO_MONTHS))
def test_report_of_each_ratio_by_month(data, ratio):
    result = run(data.admin, ratio, use_fiscal_year(1))

    assert rows(result.tables[0]) == {"Total": RATIO_MONTHS[ratio]}


def test_a_ratio_total_divides_sums_rather_than_averaging_rows(data):
    # when the win rate by owner, January to 15 April 2026
    result = run(data.admin, "win_rate", use_fiscal_year(1), dimension="owner")

    # then Ana: D3 won (Jan), D9 lost (Mar), D1 won (Apr): 2/3; Bruno D2 1/1; Marta D4 1/1
    table = result.tables[0]
    assert rows(table) == {
        "Ana Alonso": [D("100.0"), None, D("0.0"), D("100.0"), D("66.7")],
        "Bruno Blanco": [None, None, D("100.0"), None, D("100.0")],
        "Marta Martín": [None, None, None, D("100.0"), D("100.0")],
    }
    # and the total is 4 won of 5 closed = 80.0, not the rows' average (66.7 + 100 + 100)/3
    assert total(table) == [D("100.0"), None, D("50.0"), D("100.0"), D("80.0")]


# -- report views: cumulative --


@pytest.mark.parametrize(
    ("start_month", "values"),
    [
        # Calendar year: 2,000 | 2,000 | + 1,500 = 3,500 | + 2,000 = 5,500
        (1, [2000, 2000, 3500, 5500]),
        # From April: January runs from April 2025: D6 1,000 + D3 2,000 = 3,000 | 3,000 |
        # + D2 1,500 = 4,500 | a new fiscal year starts in April: D1 800 + D4 1,200 = 2,000
        (4, [3000, 3000, 4500, 2000]),
    ],
)
def test_cumulative_runs_within_the_fiscal_year(data, start_month, values):
    result = run(data.admin, "revenue_won", use_fiscal_year(start_month), view="cumulative")

    table = result.tables[0]
    assert table.headers == ["", "Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026"]  # no total
    assert rows(table) == {"Total": values}
    # the March cell links to the records from the fiscal year's start
    start = "2026-01-01" if start_month == 1 else "2025-04-01"
    assert query(table.rows[0].cells[2].link)["start"] == start


def test_cumulative_by_dimension_from_april(data):
    # when revenue won by channel as running totals, fiscal year from April
    result = run(
        data.admin, "revenue_won", use_fiscal_year(4), view="cumulative", dimension="channel"
    )

    # then Feria: D3 2,000 (Jan) + D2 1,500 (Mar), nothing in the new year's April;
    # Web: D6 1,000 (April 2025) until March, then D1 800 + D4 1,200 in April 2026
    table = result.tables[0]
    assert rows(table) == {"Feria": [2000, 2000, 3500, 0], "Web": [1000, 1000, 1000, 2000]}
    assert total(table) == [3000, 3000, 4500, 2000]


@pytest.mark.parametrize(
    ("start_month", "values"),
    [
        # D3 won 1/1 | 1/1 | + D2 won, D9 lost: 2/3 | + D1, D4 won: 4/5
        (1, [D("100.0"), D("100.0"), D("66.7"), D("80.0")]),
        # From April 2025: D6 won, D8 lost, D5 lost, D3 won: 2/4 | 2/4 | + D2, D9: 3/6 |
        # April 2026 starts again: 2/2
        (4, [D("50.0"), D("50.0"), D("50.0"), D("100.0")]),
    ],
)
def test_cumulative_ratio_divides_running_sums(data, start_month, values):
    result = run(data.admin, "win_rate", use_fiscal_year(start_month), view="cumulative")

    assert rows(result.tables[0]) == {"Total": values}


def test_cumulative_by_fiscal_quarter(data):
    period = Period(dt.date(2025, 4, 1), dt.date(2026, 3, 31))

    result = run(
        data.admin,
        "revenue_won",
        use_fiscal_year(4),
        view="cumulative",
        granularity="quarter",
        period=period,
    )

    # Q1 D6 1,000 | Q2 1,000 | Q3 1,000 | Q4 + D3 2,000 + D2 1,500 = 4,500
    assert rows(result.tables[0]) == {"Total": [1000, 1000, 1000, 4500]}


# -- report views: year over year --


def _yoy(cells):
    """previous, current, difference, %, tone"""
    return [c.value for c in cells] + [cells[3].tone]


def test_yoy_by_month_calendar_year(data, frozen):
    # when revenue won of 2026 against 2025, today being 15 April 2026
    result = run(data.admin, "revenue_won", use_fiscal_year(1), view="yoy")

    # then
    table = result.tables[0]
    assert table.headers == ["", "2025", "2026", "Difference", "%"]
    assert labels(table)[:5] == ["January", "February", "March", "April", "May"]
    assert [_yoy(row.cells) for row in table.rows[:5]] == [
        [600, 2000, 1400, D("233.3"), "success"],  # D7 | D3: +1,400 = 233.3 % of 600
        [0, 0, 0, None, ""],
        [0, 1500, 1500, None, "success"],  # D2; nothing the year before: no %
        [1000, 2000, 1000, D("100.0"), "success"],  # D6 | D1 + D4
        [0, None, None, None, ""],  # May has not begun
    ]
    assert [row.cells[1].value for row in table.rows[4:]] == [None] * 8
    # total to date, January to April: 600 + 1,000 = 1,600 against 5,500: +3,900 = 243.75 %
    assert table.total.label == "Total to date"
    assert _yoy(table.total.cells) == [1600, 5500, 3900, D("243.8"), "success"]
    assert query(table.total.cells[1].link)["end"] == "2026-04-15"


def test_yoy_by_month_fiscal_year_from_april(data, frozen):
    result = run(data.admin, "revenue_won", use_fiscal_year(4), view="yoy")

    table = result.tables[0]
    assert table.headers == ["", "2025/26", "2026/27", "Difference", "%"]
    assert labels(table)[0] == "April"
    assert labels(table)[-1] == "March"
    # April 2025 D6 1,000 against April 2026 D1 + D4 2,000
    assert _yoy(table.rows[0].cells) == [1000, 2000, 1000, D("100.0"), "success"]
    # the rest of 2025/26 for comparison: January D3 2,000, March D2 1,500
    assert [row.cells[0].value for row in table.rows[1:]] == [0] * 8 + [2000, 0, 1500]
    assert [row.cells[1].value for row in table.rows[1:]] == [None] * 11
    # only April has begun
    assert _yoy(table.total.cells) == [1000, 2000, 1000, D("100.0"), "success"]


def test_yoy_by_quarter(data, frozen):
    result = run(data.admin, "revenue_won", use_fiscal_year(1), view="yoy", granularity="quarter")

    assert rows(result.tables[0]) == {
        "Q1": [600, 3500, 2900, D("483.3")],  # D7 | D3 + D2; 2,900/600
        "Q2": [1000, 2000, 1000, D("100.0")],  # D6 | D1 + D4 (April so far)
        "Q3": [0, None, None, None],
        "Q4": [0, None, None, None],
    }


def test_yoy_by_owner(data, frozen):
    # when
    result = run(data.admin, "revenue_won", use_fiscal_year(1), view="yoy", dimension="owner")

    # then the second table compares January to April of each year per owner
    by_owner = result.tables[1]
    assert labels(by_owner) == ["Ana Alonso", "Bruno Blanco", "Marta Martín"]
    assert rows(by_owner) == {
        "Ana Alonso": [1000, 2800, 1800, D("180.0")],  # D6 | D3 + D1
        "Bruno Blanco": [600, 1500, 900, D("150.0")],  # D7 | D2
        "Marta Martín": [0, 1200, 1200, None],  # D4
    }


def test_yoy_of_a_ratio_gives_the_difference_in_points(data, frozen):
    result = run(data.admin, "win_rate", use_fiscal_year(1), view="yoy")

    # January to April 2025: D7, D6 won, D8 lost: 2/3 = 66.7; 2026: 4/5 = 80.0;
    # +13.3 points, 13.3/66.7 = 19.9 %
    total_cells = result.tables[0].total.cells
    assert [c.value for c in total_cells] == [D("66.7"), D("80.0"), D("13.3"), D("19.9")]
    assert total_cells[2].value_format == "points"


def test_yoy_of_a_past_year_totals_the_whole_year(data, frozen):
    # when 2025 against 2024 (today is in 2026)
    period = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    result = run(data.admin, "revenue_won", use_fiscal_year(1), view="yoy", period=period)

    # then every month has passed: D7 600 + D6 1,000 against nothing
    table = result.tables[0]
    assert table.headers == ["", "2024", "2025", "Difference", "%"]
    assert table.total.label == "Total"
    assert [c.value for c in table.total.cells] == [0, 1600, 1600, None]
    assert [row.cells[1].value for row in table.rows] == [600, 0, 0, 1000] + [0] * 8


@pytest.mark.parametrize("start_month", [1, 4])
def test_yoy_total_to_date_compares_the_same_days(data, frozen, start_month):
    # given today is 15 April 2026; last year's L10 came in on 20 April 2025, after the
    # same day
    settings = use_fiscal_year(start_month)

    # when
    result = run(data.admin, "leads_new", settings, view="yoy")
    this_year = dashboard(
        user=data.admin,
        period=Period(settings.fiscal.year_start(2026), dt.date(2026, 4, 15), PeriodKind.YEAR),
        settings=settings,
    )

    # then "total to date" compares with last year up to 15 April, as the dashboard does:
    # from January: L6, L7 (not L10) = 2 against L8, L1, L3, L4, L2, L5, L9 = 7;
    # from April: L7 = 1 against L2, L5, L9 = 3
    expected = {1: [2, 7], 4: [1, 3]}[start_month]
    leads = next(k for k in this_year["kpis"] if k.key == "leads_new")
    assert [leads.values[2], leads.values[0]] == expected
    total_row = result.tables[0].total
    assert [total_row.cells[0].value, total_row.cells[1].value] == expected
    assert query(total_row.cells[0].link)["end"] == "2025-04-15"


# -- dashboard --

# (values: this period, the previous one, a year before), then per comparison
# (difference, % of the earlier value, direction, tone); None where there is no comparison.
# April 2026 to the 15th, against 1-15 March 2026 and 1-15 April 2025.
DASHBOARD = {
    # L2, L5, L9 | L1, L4 | L7 (L10 came on 20 April)
    "leads_new": ([3, 2, 1], [(1, D("50.0"), "up", "success"), (2, D("200.0"), "up", "success")]),
    # L5 of 3 | L1 and L4 of 2 | none of 1
    "lead_conversion": (
        [D("33.3"), D("100.0"), D("0.0")],
        [(D("-66.7"), D("-66.7"), "down", "danger"), (D("33.3"), None, "up", "success")],
    ),
    # D1, D4 | (D2 closed on 31 March) | D6
    "deals_won": ([2, 0, 1], [(2, None, "up", "success"), (1, D("100.0"), "up", "success")]),
    # none | D9 | D8: fewer is better
    "deals_lost": (
        [0, 1, 1],
        [(-1, D("-100.0"), "down", "success"), (-1, D("-100.0"), "down", "success")],
    ),
    # 2/2 | 0/1 | 1/2
    "win_rate": (
        [D("100.0"), D("0.0"), D("50.0")],
        [(D("100.0"), None, "up", "success"), (D("50.0"), D("100.0"), "up", "success")],
    ),
    # 800 + 1,200 | 0 | 1,000
    "revenue_won": (
        [2000, 0, 1000],
        [(2000, None, "up", "success"), (1000, D("100.0"), "up", "success")],
    ),
    # 2,000/2 | nothing won | 1,000/1
    "average_deal": ([D("1000.0"), None, D("1000.0")], [None, (0, D("0.0"), "same", "secondary")]),
    # (30 + 10)/2 | - | 30: shorter is better, -10/30
    "sales_cycle": ([D("20.0"), None, D("30.0")], [None, (-10, D("-33.3"), "down", "success")]),
    # Q1, Q3 | (Q2 sent on 31 March) | Q5
    "quotes_sent": ([2, 0, 1], [(2, None, "up", "success"), (1, D("100.0"), "up", "success")]),
    "quotes_accepted": ([1, 0, 0], [(1, None, "up", "success"), (1, None, "up", "success")]),
    # 1/2 | nothing sent | 0/1
    "acceptance_rate": ([D("50.0"), None, D("0.0")], [None, (D("50.0"), None, "up", "success")]),
    # A1, A3, A4 | (A2 on 31 March) | A5
    "activities_done": ([3, 0, 1], [(3, None, "up", "success"), (2, D("200.0"), "up", "success")]),
    # now D10 1,000 + D11 2,000 + D12 500 + D13 3,000 | stored 15 March 1,000 + 5,000 |
    # stored 15 April 2025 2,000; +500/6,000 = 8.33 %, +4,500/2,000
    "open_amount": (
        [6500, 6000, 2000],
        [(500, D("8.3"), "up", "success"), (4500, D("225.0"), "up", "success")],
    ),
    # 100 + 800 + 350 + 2,100 | 400 + 2,000 | 800; 950/2,400 = 39.58 %, 2,550/800 = 318.75 %
    "weighted_amount": (
        [3350, 2400, 800],
        [(950, D("39.6"), "up", "success"), (2550, D("318.8"), "up", "success")],
    ),
    # A6 | stored 2 | stored 0: fewer is better
    "overdue_activities": (
        [1, 2, 0],
        [(-1, D("-50.0"), "down", "success"), (1, None, "up", "danger")],
    ),
}  # fmt: skip


def test_dashboard_kpis_this_month_to_date(data, frozen):
    # when
    result = dashboard(user=data.admin, period=APRIL_TO_DATE, settings=use_fiscal_year(1))

    # then
    assert [(p.start, p.end) for p in result["periods"]] == [
        (dt.date(2026, 4, 1), dt.date(2026, 4, 15)),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 15)),
        (dt.date(2025, 4, 1), dt.date(2025, 4, 15)),
    ]
    kpis = {kpi.key: kpi for kpi in result["kpis"]}
    assert list(kpis) == list(DASHBOARD)
    for key, (values, comparisons) in DASHBOARD.items():
        kpi = kpis[key]
        assert kpi.values == values, key
        moved = [
            (
                c["change"]["difference"],
                c["change"]["percent"],
                c["change"]["direction"],
                c["change"]["tone"],
            )
            if c["change"]
            else None
            for c in kpi.comparisons
        ]
        assert moved == comparisons, key
    assert query(kpis["lead_conversion"].link) == {
        "measure": "leads_converted",
        "start": "2026-04-01",
        "end": "2026-04-15",
    }


@pytest.mark.parametrize(
    ("start_month", "expected"),
    [
        # 1 January to 15 April 2026 against the same days of 2025 (both comparisons):
        # leads L8, L1, L3, L4, L2, L5, L9 | L6, L7; won D3, D2, D1, D4 | D7, D6;
        # revenue 5,500 | 600 + 1,000; win rate 4/5 | 2/3 (D8 lost)
        (1, {"leads_new": [7, 2, 2], "deals_won": [4, 2, 2], "revenue_won": [5500, 1600, 1600],
             "win_rate": [D("80.0"), D("66.7"), D("66.7")], "open_amount": [6500, 2000, 2000]}),
        # From April the year so far is 1-15 April: L2, L5, L9 | L7; D1, D4 | D6; 2/2 | 1/2
        (4, {"leads_new": [3, 1, 1], "deals_won": [2, 1, 1], "revenue_won": [2000, 1000, 1000],
             "win_rate": [D("100.0"), D("50.0"), D("50.0")], "open_amount": [6500, 2000, 2000]}),
    ],
)  # fmt: skip
def test_dashboard_fiscal_year_to_date(data, frozen, start_month, expected):
    settings = use_fiscal_year(start_month)
    year = Period(settings.fiscal.year_start(2026), dt.date(2026, 4, 15), PeriodKind.YEAR)

    result = dashboard(user=data.admin, period=year, settings=settings)

    kpis = {kpi.key: kpi.values for kpi in result["kpis"]}
    assert {key: kpis[key] for key in expected} == expected


def test_dashboard_last_month_counts_the_edge_of_march(data, frozen):
    # when March 2026 against February 2026 and March 2025
    period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31), PeriodKind.LAST_MONTH)
    result = dashboard(user=data.admin, period=period, settings=use_fiscal_year(1))

    # then what happened at 23:59:59 on 31 March in Madrid counts, what happened at 00:30 on
    # 1 April (22:30Z on 31 March) does not
    kpis = {kpi.key: kpi.values for kpi in result["kpis"]}
    expected = {
        "leads_new": [3, 0, 1],  # L1, L3, L4 (not L2) | - | L6
        "lead_conversion": [D("66.7"), None, D("100.0")],  # L1, L4 of 3 | - | L6 of 1
        "deals_won": [1, 0, 0],  # D2 (not D1) | - | (D6 won on 2 April)
        "revenue_won": [1500, 0, 0],
        "deals_lost": [1, 0, 0],  # D9
        "sales_cycle": [D("20.0"), None, None],  # D2
        "quotes_sent": [1, 0, 1],  # Q2 (not Q1) | - | Q4
        "quotes_accepted": [1, 0, 1],
        "activities_done": [1, 0, 0],  # A2 (not A1)
        # now, against the end of February 2026 and of March 2025: none stored
        "open_amount": [6500, None, None],
    }
    assert {key: kpis[key] for key in expected} == expected


# Each user's own dashboard, April 2026 to date (this, previous, year before).
SCOPED_DASHBOARD = {
    # Marta sees Norte's figures (hers and Ana's); an unassigned lead is nobody's figure
    "marta": {
        "leads_new": [2, 1, 0],  # L2, L5 | L1 | (L9 is nobody's, L7 is Bruno's)
        "deals_won": [2, 0, 1],  # D1, D4 | - | D6
        "revenue_won": [2000, 0, 1000],
        "deals_lost": [0, 1, 0],  # - | D9 | (D8 is Bruno's)
        "quotes_sent": [1, 0, 0],  # Q1
        "activities_done": [2, 0, 0],  # A1, A4
        "open_amount": [1500, 1000, 2000],  # D10 1,000 + D12 500 | Ana's stored rows
        "weighted_amount": [450, 400, 800],  # 100 + 350
        "overdue_activities": [1, 2, 0],  # A6
    },
    "ana": {
        "leads_new": [1, 1, 0],  # L2 | L1
        "deals_won": [1, 0, 1],  # D1 | - | D6
        "revenue_won": [800, 0, 1000],
        "deals_lost": [0, 1, 0],
        "quotes_sent": [1, 0, 0],
        "activities_done": [1, 0, 0],  # A1
        "open_amount": [1000, 1000, 2000],  # D10
        "weighted_amount": [100, 400, 800],
        "overdue_activities": [1, 2, 0],
    },
    "bruno": {
        "leads_new": [0, 1, 1],  # - | L4 | L7
        "deals_won": [0, 0, 0],
        "revenue_won": [0, 0, 0],
        "deals_lost": [0, 0, 1],  # D8
        "quotes_sent": [1, 0, 1],  # Q3 | - | Q5
        "activities_done": [1, 0, 1],  # A3 (A7 cancelled) | - | A5
        # D11 2,000 + D13 3,000 | stored 15 March (a year before: see the test below)
        "open_amount": [5000, 5000],
        "weighted_amount": [2900, 2000],  # 800 + 2,100
        "overdue_activities": [0, 0],
    },
}


@pytest.mark.parametrize("who", sorted(SCOPED_DASHBOARD))
def test_dashboard_shows_each_user_their_scope(data, frozen, who):
    result = dashboard(user=getattr(data, who), period=APRIL_TO_DATE, settings=use_fiscal_year(1))

    kpis = {kpi.key: kpi.values for kpi in result["kpis"]}
    expected = SCOPED_DASHBOARD[who]
    assert {key: kpis[key][: len(values)] for key, values in expected.items()} == expected


def test_dashboard_stored_figure_is_zero_when_the_day_has_no_rows_of_the_user(data, frozen):
    # given a snapshot was stored on 15 April 2025 (Ana's row only: Bruno had nothing open
    # and nothing overdue then)
    # when Bruno looks at April to date against April 2025
    result = dashboard(user=data.bruno, period=APRIL_TO_DATE, settings=use_fiscal_year(1))

    # then his stored figures that day are zero, not unknown
    kpis = {kpi.key: kpi.values for kpi in result["kpis"]}
    assert kpis["open_amount"][2] == 0
    assert kpis["weighted_amount"][2] == 0
    assert kpis["overdue_activities"][2] == 0


def test_dashboard_compares_live_and_stored_pipeline_of_the_same_deals(data):
    # given Bruno has an open deal on Ana's account (she sees it: the account is hers)
    OpportunityFactory(
        title="D14",
        account=data.accounts["A"],
        owner=data.bruno,
        team=data.sur,
        amount=D(4000),
        stage=data.stages["Oferta presentada"],
        probability=40,
    )
    # and the snapshot of 14 April was stored at the end of that day
    with time_machine.travel(utc(2026, 4, 14, 21, 30), tick=False):
        snapshot_take(day=dt.date(2026, 4, 14))

    # when Ana looks at today against yesterday, nothing having changed since
    with time_machine.travel(NOW, tick=False):
        result = dashboard(
            user=data.ana,
            period=Period(dt.date(2026, 4, 15), dt.date(2026, 4, 15)),
            settings=use_fiscal_year(1),
        )

    # then the open pipeline did not move
    kpis = {kpi.key: kpi for kpi in result["kpis"]}
    assert kpis["open_amount"].values[0] == kpis["open_amount"].values[1]
    assert kpis["open_amount"].comparisons[0]["change"]["direction"] == "same"


# -- visibility and drill-down --

# January to 15 April 2026, per user.
SCOPED_TOTALS = {
    "admin": {
        "leads_new": 7,  # L8, L1, L3, L4, L2, L5, L9
        "leads_converted": 3,  # L1, L4, L5
        "deals_new": 7,  # D11, D13, D1, D9, D2, D4, D10
        "deals_won": 4,  # D3, D2, D1, D4
        "deals_lost": 1,  # D9
        "quotes_sent": 3,  # Q2, Q1, Q3
        "quotes_accepted": 2,  # Q2, Q1
        "activities_done": 4,  # A2, A1, A3, A4
        "revenue_won": 5500,
        "product_quoted": 4300,  # 1,500 + 800 + 2,000
    },
    "marta": {
        "leads_new": 4,  # L8, L1, L2, L5 (nobody's L9 is no team's figure)
        "leads_converted": 2,  # L1, L5
        "deals_new": 4,  # D1, D9, D4, D10
        "deals_won": 3,  # D3, D1, D4
        "deals_lost": 1,  # D9
        "quotes_sent": 1,  # Q1
        "quotes_accepted": 1,
        "activities_done": 3,  # A2, A1, A4
        "revenue_won": 4000,  # 2,000 + 800 + 1,200
        "product_quoted": 800,  # Q1's lines
    },
    "ana": {
        "leads_new": 3,  # L8, L1, L2
        "leads_converted": 1,  # L1
        "deals_new": 3,  # D1, D9, D10
        "deals_won": 2,  # D3, D1
        "deals_lost": 1,  # D9
        "quotes_sent": 1,  # Q1
        "quotes_accepted": 1,
        "activities_done": 2,  # A2, A1
        "revenue_won": 2800,
        "product_quoted": 800,
    },
    "bruno": {
        "leads_new": 2,  # L3, L4
        "leads_converted": 1,  # L4
        "deals_new": 3,  # D11, D13, D2
        "deals_won": 1,  # D2
        "deals_lost": 0,
        "quotes_sent": 2,  # Q2, Q3
        "quotes_accepted": 1,  # Q2
        "activities_done": 1,  # A3
        "revenue_won": 1500,
        "product_quoted": 3500,  # 1,500 + 2,000
    },
}
COUNTS = [m for m in SCOPED_TOTALS["admin"] if MEASURES[m].aggregate == "count"]


@pytest.mark.parametrize("who", sorted(SCOPED_TOTALS))
def test_each_user_gets_the_figures_of_their_scope_and_the_same_records(data, who):
    settings = use_fiscal_year(1)
    user = getattr(data, who)

    for measure, expected in SCOPED_TOTALS[who].items():
        # when the report's total for the period
        result = run(user, measure, settings)
        figure = result.tables[0].rows[0].cells[-1].value

        # then it is the hand-computed one
        assert figure == expected, measure
        # and the drill-down lists as many records
        if measure in COUNTS:
            records = metrics.measure_queryset(
                user=user, measure=measure, period=JAN_TO_DATE, tz=settings.tz
            )
            assert records.count() == expected, measure


def test_drill_down_of_a_month_and_value_lists_the_records_of_the_cell(data):
    # April 2026, Web: D1 (won 1 April 00:30 in Madrid) and D4
    records = metrics.measure_queryset(
        user=data.admin,
        measure="deals_won",
        period=Period(dt.date(2026, 4, 1), dt.date(2026, 4, 30)),
        tz=use_fiscal_year(1).tz,
        filters={"channel": str(data.web.pk)},
    )

    assert sorted(records.values_list("title", flat=True)) == ["D1", "D4"]


# -- bad input --


@pytest.mark.parametrize(
    ("measure", "dimension", "granularity", "view", "filters"),
    [
        ("turnover", None, "month", "monthly", ()),  # no such measure
        ("revenue_won", "colour", "month", "monthly", ()),  # no such dimension
        ("activities_done", "product", "month", "monthly", ()),  # activities have no product
        ("lead_conversion", "stage", "month", "monthly", ()),  # leads have no stage
        ("revenue_won", None, "week", "monthly", ()),  # no such granularity
        ("revenue_won", None, "month", "pie", ()),  # no such view
        ("activities_done", None, "month", "monthly", (("channel", "1"),)),  # no such filter
    ],
)
def test_report_spec_refuses_unknown_or_inapplicable_names(
    measure, dimension, granularity, view, filters
):
    spec = ReportSpec(measure, dimension, granularity, view, JAN_TO_DATE, filters)

    with pytest.raises(UnknownName):
        spec.check()


def test_metrics_refuse_unknown_names(data):
    tz = use_fiscal_year(1).tz
    with pytest.raises(UnknownName):
        metrics.monthly(user=data.admin, measures=["turnover"], period=JAN_TO_DATE, tz=tz)
    with pytest.raises(UnknownName):
        metrics.monthly(
            user=data.admin,
            measures=["activities_done"],
            period=JAN_TO_DATE,
            tz=tz,
            dimension="product",
        )
    with pytest.raises(UnknownName):
        metrics.measure_queryset(user=data.admin, measure="win_rate", period=JAN_TO_DATE, tz=tz)


def test_dimensions_of_a_ratio_are_those_of_both_parts():
    # leads and deals share channel, owner, role, team, province, sector and size; activities
    # and deals only owner, role and team
    assert metrics.dimensions_for("lead_conversion") == [
        "channel",
        "owner",
        "role",
        "team",
        "province",
        "sector",
        "size",
    ]
    assert metrics.dimensions_for("activities_per_won") == ["owner", "role", "team"]
    assert metrics.dimensions_for("product_sold") == [
        "channel",
        "owner",
        "role",
        "team",
        "stage",
        "product",
        "category",
        "province",
        "sector",
        "size",
    ]


# -- ratios' rounding --


def test_average_deal_size_is_money_to_the_cent(data):
    # given a third deal won in April 2026, of 1,001
    deal = OpportunityFactory(
        title="D14",
        account=data.accounts["A"],
        owner=data.ana,
        amount=D(1001),
        stage=data.stages["Ganada"],
    )
    type(deal).objects.filter(pk=deal.pk).update(
        created_at=utc(2026, 4, 3, 10), closed_at=utc(2026, 4, 13, 10)
    )

    # when
    result = dashboard(user=data.admin, period=APRIL_TO_DATE, settings=use_fiscal_year(1))

    # then (800 + 1,200 + 1,001) / 3 = 1,000.333... is 1,000.33 EUR
    average = next(k for k in result["kpis"] if k.key == "average_deal")
    assert average.values[0] == D("1000.33")


def test_ratios_round_half_up_like_the_other_figures():
    # 1 of 16 = 6.25 %: half up is 6.3, as comparisons, attainment and the funnel round
    assert RATIOS["win_rate"].compute(1, 16) == D("6.3")
    # 5 of 16 = 31.25 % -> 31.3
    assert RATIOS["acceptance_rate"].compute(5, 16) == D("31.3")


# -- pipeline --


def _stage_rows(result):
    return [(r["stage"].name, r["count"], r["amount"], r["weighted"]) for r in result["stages"]]


def _funnel(result):
    return [(s["label"], s["count"], s["conversion"]) for s in result["funnel"]]


def _time_in_stage(result):
    return [
        (r["stage"].name, r["moves"], r["average_days"], r["open_now"])
        for r in result["time_in_stage"]
    ]


def _ageing(result):
    return [
        (r["stage"].name, [(b["count"], b["amount"]) for b in r["buckets"]])
        for r in result["ageing"]
    ]


PIPELINE_PERIOD = Period(dt.date(2026, 3, 1), dt.date(2026, 4, 15))


def test_pipeline_report(data, frozen):
    # when the pipeline, 1 March to 15 April 2026
    result = pipeline_report(
        user=data.admin,
        pipeline=data.pipeline,
        period=PIPELINE_PERIOD,
        settings=use_fiscal_year(1),
    )

    # then open deals now: D10 1,000 at 10 %; D11 2,000 at 40 %; D12 500 + D13 3,000 at 70 %
    assert _stage_rows(result) == [
        ("En análisis", 1, 1000, 100),
        ("Oferta presentada", 1, 2000, 800),
        ("En negociación", 2, 3500, 2450),  # 350 + 2,100
    ]
    assert result["stage_totals"] == {"count": 4, "amount": 6500, "weighted": 3350}
    # the funnel of D1, D9 (1 March 00:00), D2, D4, D10: three won (D1, D2, D4) reached every
    # stage; D9 reached Oferta; D10 is in En análisis
    assert _funnel(result) == [
        ("En análisis", 5, None),
        ("Oferta presentada", 4, D("80.0")),  # 4/5
        ("En negociación", 3, D("75.0")),  # 3/4
        ("Won", 3, D("100.0")),  # 3/3
    ]
    assert query(result["funnel_link"]) == {
        "measure": "deals_new",
        "start": "2026-03-01",
        "end": "2026-04-15",
    }
    # stays that ended in the period: En análisis D1 10, D2 5, D4 10, D9 7, D13 10 = 42/5;
    # Oferta D1 20, D9 4, D13 30 = 54/3; En negociación D2 15 (D11's análisis ended in
    # February, D12's in December)
    assert _time_in_stage(result) == [
        ("En análisis", 5, D("8.4"), 1),
        ("Oferta presentada", 3, D("18.0"), 1),
        ("En negociación", 1, D("15.0"), 2),
    ]
    # ages on 15 April: D10 13 days; D13 54 days; D11 90 days (created 15 January);
    # D12 196 days
    assert _ageing(result) == [
        ("En análisis", [(1, 1000), (0, 0), (0, 0), (0, 0), (0, 0)]),
        ("Oferta presentada", [(0, 0), (0, 0), (1, 2000), (0, 0), (0, 0)]),
        ("En negociación", [(0, 0), (1, 3000), (0, 0), (0, 0), (1, 500)]),
    ]
    assert result["ageing_totals"] == [
        {"count": 1, "amount": 1000},
        {"count": 1, "amount": 3000},
        {"count": 1, "amount": 2000},
        {"count": 0, "amount": 0},
        {"count": 1, "amount": 500},
    ]


def test_pipeline_report_of_a_manager_covers_their_team(data, frozen):
    result = pipeline_report(
        user=data.marta,
        pipeline=data.pipeline,
        period=PIPELINE_PERIOD,
        settings=use_fiscal_year(1),
    )

    # Norte's open deals: D10 (Ana) and D12 (Marta)
    assert _stage_rows(result) == [
        ("En análisis", 1, 1000, 100),
        ("Oferta presentada", 0, 0, 0),
        ("En negociación", 1, 500, 350),
    ]
    # cohort D1, D9, D4, D10: won D1, D4
    assert _funnel(result) == [
        ("En análisis", 4, None),
        ("Oferta presentada", 3, D("75.0")),
        ("En negociación", 2, D("66.7")),
        ("Won", 2, D("100.0")),
    ]
    # En análisis D1 10, D4 10, D9 7 = 27/3; Oferta D1 20, D9 4 = 24/2
    assert _time_in_stage(result) == [
        ("En análisis", 3, D("9.0"), 1),
        ("Oferta presentada", 2, D("12.0"), 0),
        ("En negociación", 0, None, 1),
    ]


def test_pipeline_funnel_of_a_deal_recorded_as_lost(data, frozen):
    # given a deal recorded directly as lost on 5 April (a tender lost before any work on
    # it: opportunity_create accepts a closed stage), so its only move is into Perdida
    deal = OpportunityFactory(
        title="D15",
        account=data.accounts["A"],
        owner=data.ana,
        amount=D(100),
        stage=data.stages["Perdida"],
        probability=0,
    )
    StageChange.objects.create(
        opportunity=deal, to_stage=data.stages["Perdida"], changed_at=utc(2026, 4, 5, 10)
    )
    type(deal).objects.filter(pk=deal.pk).update(
        created_at=utc(2026, 4, 5, 10), closed_at=utc(2026, 4, 5, 10)
    )

    # when
    result = pipeline_report(
        user=data.admin,
        pipeline=data.pipeline,
        period=PIPELINE_PERIOD,
        settings=use_fiscal_year(1),
    )

    # then it reached neither Oferta presentada nor En negociación: still 4 and 3 of them
    counts = {s["label"]: s["count"] for s in result["funnel"]}
    assert [counts["Oferta presentada"], counts["En negociación"], counts["Won"]] == [4, 3, 3]


# -- planning --


def _ana_targets(data):
    for month, metric, value in [
        (M(2026, 1), TargetMetric.REVENUE_WON, 1500),
        (M(2026, 2), TargetMetric.REVENUE_WON, 1000),
        (M(2026, 3), TargetMetric.REVENUE_WON, 1000),
        (M(2026, 4), TargetMetric.REVENUE_WON, 2000),
        (M(2026, 5), TargetMetric.REVENUE_WON, 2000),
        (M(2026, 4), TargetMetric.DEALS_WON, 2),
        (M(2026, 3), TargetMetric.ACTIVITIES_DONE, 2),
        (M(2026, 4), TargetMetric.ACTIVITIES_DONE, 4),
    ]:
        Target.objects.create(user=data.ana, month=month, metric=metric, value=D(value))


def _figures(row, metric):
    figure = row["figures"][metric]
    return [figure["target"], figure["actual"], figure["attainment"]]


def test_plan_of_a_rep_calendar_year(data, frozen):
    # given Ana's targets
    _ana_targets(data)

    # when her 2026 plan (today 15 April)
    result = plan(
        user=data.ana,
        subject=PlanSubject("user", user=data.ana),
        year=2026,
        settings=use_fiscal_year(1),
    )

    # then month by month: target, actual, attainment
    rows_ = result["rows"]
    assert [r["month"] for r in rows_] == [M(2026, m) for m in range(1, 13)]
    revenue = TargetMetric.REVENUE_WON
    assert [_figures(r, revenue) for r in rows_[:6]] == [
        [1500, 2000, D("133.3")],  # D3 won 1 January 00:00 in Madrid
        [1000, 0, D("0.0")],
        [1000, 0, D("0.0")],  # (D9 was lost)
        [2000, 800, D("40.0")],  # D1
        [2000, None, None],  # May has not begun
        [None, None, None],
    ]
    assert _figures(rows_[3], TargetMetric.DEALS_WON) == [2, 1, D("50.0")]
    assert _figures(rows_[2], TargetMetric.ACTIVITIES_DONE) == [2, 1, D("50.0")]  # A2
    assert _figures(rows_[3], TargetMetric.ACTIVITIES_DONE) == [4, 1, D("25.0")]  # A1
    assert _figures(rows_[0], TargetMetric.DEALS_WON) == [None, 1, None]
    # totals: revenue 2,000 + 800 of 1,500 + 1,000 + 1,000 + 2,000 + 2,000 = 7,500
    assert result["totals"] == {
        TargetMetric.REVENUE_WON: {"target": 7500, "actual": 2800, "attainment": D("37.3")},
        TargetMetric.DEALS_WON: {"target": 2, "actual": 2, "attainment": D("100.0")},
        TargetMetric.ACTIVITIES_DONE: {"target": 6, "actual": 2, "attainment": D("33.3")},
    }
    # forecast: won so far, plus from April on the weighted pipeline by expected close:
    # D10 1,000 at 10 % expected in May
    assert [r["expected"] for r in rows_] == [2000, 0, 0, 800, 100] + [0] * 7
    assert rows_[4]["pipeline"] == {"amount": 1000, "weighted": 100, "count": 1}
    assert result["forecast_total"] == 2900
    assert result["forecast_attainment"] == D("38.7")  # 2,900/7,500 = 38.67 %
    assert result["overdue_pipeline"] == {"count": 0, "amount": 0, "weighted": 0}


def test_plan_of_a_rep_fiscal_year_from_april(data, frozen):
    _ana_targets(data)

    result = plan(
        user=data.ana,
        subject=PlanSubject("user", user=data.ana),
        year=2026,
        settings=use_fiscal_year(4),
    )

    # 2026/27 runs from April 2026: January to March 2026's targets are not in it
    assert result["year_label"] == "2026/27"
    assert [r["month"] for r in result["rows"]][:2] == [M(2026, 4), M(2026, 5)]
    assert result["totals"][TargetMetric.REVENUE_WON] == {
        "target": 4000,  # April 2,000 + May 2,000
        "actual": 800,  # D1
        "attainment": D("20.0"),
    }
    # April 800 + May D10's 100
    assert result["forecast_total"] == 900
    assert result["forecast_attainment"] == D("22.5")


def test_plan_of_a_team_seen_by_its_manager(data, frozen):
    # given Norte's target for April, and one of Ana's (a rep's target is not the team's)
    revenue = TargetMetric.REVENUE_WON
    Target.objects.create(team=data.norte, month=M(2026, 4), metric=revenue, value=D(3000))
    Target.objects.create(user=data.ana, month=M(2026, 4), metric=revenue, value=D(9999))

    result = plan(
        user=data.marta,
        subject=PlanSubject("team", team=data.norte),
        year=2026,
        settings=use_fiscal_year(1),
    )

    # Norte won D3 2,000 in January and D1 800 + D4 1,200 in April
    rows_ = result["rows"]
    assert _figures(rows_[0], TargetMetric.REVENUE_WON) == [None, 2000, None]
    assert _figures(rows_[3], TargetMetric.REVENUE_WON) == [3000, 2000, D("66.7")]
    # D12 (500 at 70 %) was expected on 31 March: overdue, out of the forecast; D10 in May
    assert rows_[2]["pipeline"] == {"amount": 500, "weighted": 350, "count": 1}
    assert rows_[2]["expected"] == 0
    assert result["overdue_pipeline"] == {"count": 1, "amount": 500, "weighted": 350}
    # 2,000 + 2,000 + 100
    assert result["forecast_total"] == 4100
    assert result["forecast_attainment"] == D("136.7")  # 4,100/3,000


def test_plan_of_the_company(data, frozen):
    # given the teams' targets for April, and one of Ana's (not added: the company's plan is
    # its teams')
    revenue = TargetMetric.REVENUE_WON
    Target.objects.create(team=data.norte, month=M(2026, 4), metric=revenue, value=D(3000))
    Target.objects.create(team=data.sur, month=M(2026, 4), metric=revenue, value=D(1000))
    Target.objects.create(user=data.ana, month=M(2026, 4), metric=revenue, value=D(9999))

    result = plan(
        user=data.admin, subject=PlanSubject("company"), year=2026, settings=use_fiscal_year(1)
    )

    rows_ = result["rows"]
    # the teams' targets 3,000 + 1,000 against D1 + D4
    assert _figures(rows_[3], TargetMetric.REVENUE_WON) == [4000, 2000, D("50.0")]
    # won: Jan D3 2,000, Mar D2 1,500, Apr 2,000 + D11 (2,000 at 40 %, 30 April) 800;
    # May D10 100; June D13 (3,000 at 70 %) 2,100
    assert [r["expected"] for r in rows_[:6]] == [2000, 0, 1500, 2800, 100, 2100]
    assert result["forecast_total"] == 8500
    assert result["forecast_attainment"] == D("212.5")  # 8,500/4,000
    assert result["overdue_pipeline"] == {"count": 1, "amount": 500, "weighted": 350}  # D12


def test_plan_of_next_year_warns_only_of_deals_due_before_this_month(data, frozen):
    # when the company's plan for 2027, on 15 April 2026
    result = plan(
        user=data.admin, subject=PlanSubject("company"), year=2027, settings=use_fiscal_year(1)
    )

    # then nothing is forecast (no deal is expected to close in 2027)
    assert result["forecast_total"] == 0
    # and the open deals that should have closed before April 2026 are D12 alone: D11
    # (30 April), D10 (20 May) and D13 (15 June) are not late
    assert result["overdue_pipeline"] == {"count": 1, "amount": 500, "weighted": 350}


def test_plan_subjects_for_each_role(data):
    def names(user):
        return [s.label for s in plan_subjects_for_user(user)]

    assert names(data.admin) == [
        "Whole company",
        "Norte",
        "Sur",
        "Alicia Admin",
        "Ana Alonso",
        "Bruno Blanco",
        "Marta Martín",
    ]
    assert names(data.marta) == ["Norte", "Ana Alonso", "Marta Martín"]
    assert names(data.ana) == ["Ana Alonso"]

"""The reports in a real browser: the dashboard, a report with its chart and table, the
drill-down from a figure, on a phone and on a desktop."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from crm.customers.tests.factories import AccountFactory
from crm.sales.models import Stage, StageKind
from crm.sales.services import opportunity_create, opportunity_move
from crm.users.models import Role
from crm.users.tests.factories import UserFactory

from .test_board import assert_no_horizontal_scroll, default_pipeline, log_in  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def seller():
    return UserFactory(username="marta", role=Role.SALES, first_name="Marta", last_name="Ruiz")


@pytest.fixture
def won_deals(seller):
    won = Stage.objects.get(pipeline__is_default=True, kind=StageKind.WON)
    for amount in ("1200.00", "800.00"):
        deal = opportunity_create(
            actor=seller,
            fields={
                "account": AccountFactory(owner=seller, name=f"Cliente {amount}"),
                "title": f"Venta {amount}",
                "amount": Decimal(amount),
            },
        )
        opportunity_move(actor=seller, opportunity=deal, stage=won)


def test_the_dashboard_shows_the_months_figures_and_opens_the_records(page, live_server, won_deals):
    log_in(page, live_server, "marta")

    revenue = page.locator("#kpi-revenue_won").locator("xpath=..").locator(".kpi-value")
    expect(revenue).to_have_text("2.000,00 €")
    assert_no_horizontal_scroll(page)
    revenue.click()

    expect(page.locator("h1")).to_have_text("Ingresos ganados")
    expect(page.locator(".list-group-item")).to_have_count(2)
    assert_no_horizontal_scroll(page)


def test_a_custom_period_shows_its_dates_and_a_bad_one_says_why(page, live_server, won_deals):
    log_in(page, live_server, "marta")
    start = page.locator("input[name=start]")
    expect(start).to_be_hidden()

    page.select_option("select[name=period]", "custom")
    expect(start).to_be_visible()
    start.fill("2026-05-01")
    page.fill("input[name=end]", "2026-04-01")
    page.get_by_role("button", name="Mostrar").click()

    expect(page.locator("#report-errors")).to_contain_text("anterior")
    assert_no_horizontal_scroll(page)


def chart_text_sizes(page) -> list[float]:
    """The on-screen size in px of the 14-unit text of each chart shown (one drawing of each
    chart is shown, the one that suits its column)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('svg.chart-svg')]
            .filter(svg => svg.getBoundingClientRect().width > 0)
            .map(svg => 14 * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width)"""
    )


def assert_readable_charts(page):
    sizes = chart_text_sizes(page)
    assert sizes, "no chart shown"
    assert all(11 <= size <= 17.5 for size in sizes), sizes


def test_a_report_by_owner_has_a_chart_a_table_and_drills_down(page, live_server, won_deals):
    log_in(page, live_server, "marta")
    report = f"{live_server.url}/reports/?measure=revenue_won&dimension=owner&period=year"
    page.goto(report)

    expect(page.locator("svg.chart-svg:visible").first).to_be_visible()
    assert_readable_charts(page)
    row = page.locator(".report-table tbody tr", has_text="Marta Ruiz")
    expect(row.locator("td").last).to_have_text("2.000,00 €")
    assert_no_horizontal_scroll(page)
    row.locator("td").last.locator("a").click()

    expect(page.locator(".list-group-item")).to_have_count(2)
    expect(page.locator(".report-nav .active")).to_have_text("Informes")
    page.locator("#records-back").click()
    expect(page).to_have_url(report)


def test_a_figure_of_nothing_is_not_a_link(page, live_server, won_deals):
    log_in(page, live_server, "marta")
    page.goto(f"{live_server.url}/reports/?measure=revenue_won&period=year")

    row = page.locator(".report-table tbody tr").first
    zero = row.locator("td", has_text=re.compile(r"^0,00\s€$")).first
    expect(zero).to_be_attached()
    expect(zero.locator("a")).to_have_count(0)
    expect(page.locator(".report-table td a").first).to_have_css("text-decoration-line", "none")


@pytest.mark.parametrize("path", ["/", "/reports/pipeline/", "/reports/planning/"])
def test_the_report_pages_fit_the_screen_with_readable_charts(page, live_server, won_deals, path):
    log_in(page, live_server, "marta")

    page.goto(f"{live_server.url}{path}")

    expect(page.locator("svg.chart-svg:visible").first).to_be_visible()
    assert_readable_charts(page)
    assert_no_horizontal_scroll(page)
    for tab in page.locator(".report-nav .nav-link").all():
        box = tab.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= page.viewport_size["width"]

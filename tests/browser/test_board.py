"""The opportunities board in a real browser: mouse drag, touch drag, the "Move to…" menu."""

import os
from decimal import Decimal
from importlib import import_module
from pathlib import Path

import pytest
from playwright.sync_api import expect

from crm.customers.models import Lifecycle
from crm.customers.tests.factories import AccountFactory
from crm.sales.models import LostReason, Opportunity, Pipeline, Stage
from crm.sales.services import opportunity_create
from crm.users.models import Role
from crm.users.tests.factories import PASSWORD, UserFactory

from .conftest import VIEWPORTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Set SHOTS_DIR to keep screenshots of the pages at each size (for a visual review).
SHOTS_DIR = os.environ.get("SHOTS_DIR", "")


@pytest.fixture(autouse=True)
def default_pipeline(transactional_db):
    """The pipeline and lost reasons a new installation has (a transactional test starts from
    empty tables): the same rows as the data migration."""
    migration = import_module("crm.sales.migrations.0002_default_pipeline")
    if not Pipeline.objects.exists():
        pipeline = Pipeline.objects.create(name="Ventas", is_default=True, position=1)
        for position, (name, probability, kind) in enumerate(migration.STAGES, start=1):
            Stage.objects.create(
                pipeline=pipeline, name=name, position=position, probability=probability, kind=kind
            )
    for position, name in enumerate(migration.LOST_REASONS):
        LostReason.objects.get_or_create(name=name, defaults={"position": position})


def assert_no_horizontal_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url} scrolls sideways: {width}px > {viewport}px"


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/")


def stage(name):
    return Stage.objects.get(pipeline__is_default=True, name=name)


@pytest.fixture
def seller():
    return UserFactory(username="marta", role=Role.SALES, first_name="Marta", last_name="Ruiz")


@pytest.fixture
def deal(seller):
    account = AccountFactory(owner=seller, name="Talleres Pérez SL")
    return opportunity_create(
        actor=seller,
        fields={"account": account, "title": "Renovación flota", "amount": Decimal(1000)},
    )


def column(page, name):
    return page.locator(".board-column", has=page.locator(f"h2:has-text('{name}')"))


def drag_with_mouse(page, source, target):
    box = source.bounding_box()
    goal = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 10)
    page.mouse.down()
    steps = 12
    for i in range(1, steps + 1):
        page.mouse.move(
            box["x"]
            + box["width"] / 2
            + (goal["x"] + 40 - box["x"] - box["width"] / 2) * i / steps,
            box["y"] + 10 + (goal["y"] + 80 - box["y"] - 10) * i / steps,
        )
    page.mouse.up()


def test_mouse_drag_moves_a_card_and_updates_the_columns(browser, live_server, seller, deal):
    context = browser.new_context(viewport=VIEWPORTS["desktop"], locale="es-ES")
    page = context.new_page()
    log_in(page, live_server, "marta")
    page.goto(f"{live_server.url}/opportunities/board/")
    card = page.locator(f"#card-{deal.pk}")
    expect(column(page, "En análisis").locator(f"#card-{deal.pk}")).to_be_visible()

    drag_with_mouse(page, card, column(page, "En negociación"))

    target = column(page, "En negociación")
    expect(target.locator(f"#card-{deal.pk}")).to_be_visible()
    expect(target.locator(".board-count")).to_have_text("1")
    expect(target.locator(".board-weighted")).to_contain_text("700,00 €")
    expect(column(page, "En análisis").locator(".board-count")).to_have_text("0")
    deal.refresh_from_db()
    assert deal.stage.name == "En negociación"
    assert deal.version == 2
    context.close()


def touch(cdp, kind, x, y):
    points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})


def test_touch_drag_on_a_phone_moves_a_card(browser, live_server, seller, deal):
    context = browser.new_context(viewport=VIEWPORTS["phone"], locale="es-ES", has_touch=True)
    page = context.new_page()
    log_in(page, live_server, "marta")
    page.goto(f"{live_server.url}/opportunities/board/")
    assert_no_horizontal_scroll(page)
    handle = page.locator(f"#card-{deal.pk} .drag-handle")
    expect(handle).to_be_visible()
    start = handle.bounding_box()
    # The second column is partly beside the first on a phone: drag to its visible edge.
    goal = column(page, "Oferta presentada").bounding_box()
    cdp = context.new_cdp_session(page)
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    x1, y1 = min(goal["x"] + 30, 370), goal["y"] + 120
    touch(cdp, "touchStart", x0, y0)
    for i in range(1, 11):
        touch(cdp, "touchMove", x0 + (x1 - x0) * i / 10, y0 + (y1 - y0) * i / 10)
    touch(cdp, "touchEnd", x1, y1)

    expect(column(page, "Oferta presentada").locator(f"#card-{deal.pk}")).to_be_attached()
    deal.refresh_from_db()
    assert deal.stage.name == "Oferta presentada"
    page.reload()
    expect(column(page, "Oferta presentada").locator(f"#card-{deal.pk}")).to_be_visible()
    assert_no_horizontal_scroll(page)
    context.close()


def test_move_to_menu_works_without_dragging_and_asks_why_a_deal_is_lost(
    phone_page, live_server, seller, deal
):
    page = phone_page
    log_in(page, live_server, "marta")
    page.goto(f"{live_server.url}/opportunities/board/")

    page.select_option(f"#move-{deal.pk}", str(stage("Ganada").pk))
    expect(page.locator(f"#column-stats-{stage('Ganada').pk} .board-count")).to_have_text("1")
    deal.refresh_from_db()
    assert deal.stage.name == "Ganada"
    deal.account.refresh_from_db()
    assert deal.account.lifecycle == Lifecycle.CUSTOMER

    other = opportunity_create(
        actor=seller, fields={"account": deal.account, "title": "Segunda", "amount": 5}
    )
    page.reload()
    page.select_option(f"#move-{other.pk}", str(stage("Perdida").pk))
    dialog = page.locator("#reason-dialog")
    expect(dialog).to_be_visible()
    assert Opportunity.objects.get(pk=other.pk).stage.name == "En análisis"
    page.select_option("#reason-select", label="Precio")
    page.fill("#reason-note", "Muy caro")
    dialog.locator("button[type=submit]").click()
    expect(page.locator(f"#column-stats-{stage('Perdida').pk} .board-count")).to_have_text("1")
    other.refresh_from_db()
    assert (other.stage.name, str(other.lost_reason), other.lost_note) == (
        "Perdida",
        "Precio",
        "Muy caro",
    )
    assert_no_horizontal_scroll(page)


def test_pages_fit_a_phone_without_sideways_scroll(page, live_server, seller, deal):
    admin = UserFactory(username="jefa", role=Role.ADMIN, first_name="Maximiliano Alejandro")
    for n in range(8):
        opportunity_create(
            actor=seller,
            fields={
                "account": deal.account,
                "title": f"Oportunidad con un título bastante largo número {n}",
                "amount": Decimal(1000 * n + 0.5),
            },
        )
    log_in(page, live_server, "marta")
    size = "phone" if page.viewport_size["width"] < 500 else "desktop"
    shots = Path(SHOTS_DIR) if SHOTS_DIR else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    pages = {
        "board": "/opportunities/board/",
        "list": "/opportunities/",
        "detail": f"/opportunities/{deal.pk}/",
        "form": f"/opportunities/{deal.pk}/update/",
        "create": f"/opportunities/create/?account={deal.account_id}",
    }
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("h1")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert_no_horizontal_scroll(page)
        if shots:
            page.screenshot(path=str(shots / f"{name}-{size}.png"), full_page=True)
    page.context.clear_cookies()
    log_in(page, live_server, admin.username)
    for name, path in {
        "pipelines": "/opportunities/pipelines/",
        "stage": f"/opportunities/pipelines/stages/{stage('Ganada').pk}/update/",
    }.items():
        page.goto(f"{live_server.url}{path}")
        assert_no_horizontal_scroll(page)
        if shots:
            page.screenshot(path=str(shots / f"{name}-{size}.png"), full_page=True)

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.activities.models import Activity, ActivityStatus
from crm.activities.tests.factories import ActivityFactory
from crm.customers.models import AccountEvent
from crm.customers.tests.factories import AccountFactory
from crm.users.models import Role
from crm.users.tests.factories import PASSWORD, TeamFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
SHOTS = Path("/tmp/shots/activities")  # noqa: S108 (screenshots for review)


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


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{page.viewport_size['width']}.png"), full_page=True)


def test_log_a_call_inline_from_an_account_page(phone_page, live_server):
    rep = UserFactory(username="marta", role=Role.SALES)
    account = AccountFactory(owner=rep, name="Ferretería Muñoz SL")
    log_in(phone_page, live_server, "marta")

    phone_page.goto(f"{live_server.url}/accounts/{account.pk}/")
    # htmx must be ready before the form is sent (else the browser posts the page itself).
    phone_page.wait_for_load_state("networkidle")
    panel = phone_page.locator("#activities-panel")
    panel.locator("#call_outcome").fill("Quiere presupuesto para 20 unidades")
    panel.locator("button[type=submit]").click()

    expect(phone_page.locator("#activities-panel .alert-success")).to_be_visible(timeout=15_000)
    expect(phone_page.locator("#activities-done")).to_contain_text("Quiere presupuesto")
    assert_no_horizontal_scroll(phone_page)
    activity = Activity.objects.get()
    assert (activity.kind, activity.status, activity.account_id) == ("call", "done", account.pk)
    assert AccountEvent.objects.filter(account=account, kind="activity_done").count() == 1
    shot(phone_page, "account-panel")


def test_complete_with_outcome_and_follow_up(phone_page, live_server):
    rep = UserFactory(username="marta", role=Role.SALES)
    account = AccountFactory(owner=rep)
    activity = ActivityFactory(assignee=rep, kind="call", subject="Llamar a Ana", account=account)
    log_in(phone_page, live_server, "marta")

    phone_page.goto(f"{live_server.url}/activities/")
    phone_page.locator(f"#activity-{activity.pk} a.btn-outline-success").click()
    phone_page.click("#complete-form button[type=submit]")
    expect(phone_page.locator("#id_outcome_error")).to_be_visible()
    assert_no_horizontal_scroll(phone_page)

    phone_page.fill("#id_outcome", "Le interesa; pide demo")
    phone_page.check("#id_follow_up")
    phone_page.select_option("#id_follow_up_kind", "meeting")
    phone_page.fill("#id_follow_up_subject", "Demo en sus oficinas")
    phone_page.fill("#id_follow_up_date", (timezone.localdate() + timedelta(days=2)).isoformat())
    phone_page.click("#complete-form button[type=submit]")

    expect(phone_page).to_have_url(f"{live_server.url}/activities/")
    expect(phone_page.locator("#upcoming")).to_contain_text("Demo en sus oficinas")
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.DONE
    assert activity.outcome == "Le interesa; pide demo"
    follow_up = Activity.objects.get(follows=activity)
    assert (follow_up.kind, follow_up.account_id) == ("meeting", account.pk)


def test_my_day_calendar_and_team_fit_the_screen(page, live_server):
    team = TeamFactory()
    boss = UserFactory(username="jefa", role=Role.MANAGER, team=team)
    team.manager = boss
    team.save()
    rep = UserFactory(username="marta", role=Role.SALES, team=team)
    account = AccountFactory(owner=boss, name="Distribuciones Ejemplo del Mediterráneo SL")
    now = timezone.now()
    for days, subject in [
        (-2, "Enviar catálogo actualizado"),
        (0, "Llamar para confirmar pedido"),
        (1, "Reunión de seguimiento trimestral con dirección"),
        (3, "Visita"),
    ]:
        ActivityFactory(
            assignee=boss, subject=subject, due_at=now + timedelta(days=days), account=account
        )
    ActivityFactory(assignee=rep, subject="Tarea del equipo", due_at=now - timedelta(days=1))
    log_in(page, live_server, "jefa")

    for name, path in [
        ("my-day", "/activities/"),
        ("calendar-month", "/activities/calendar/"),
        ("calendar-week", "/activities/calendar/?view=week"),
        ("team", "/activities/team/"),
        ("account-panel", f"/accounts/{account.pk}/"),
    ]:
        page.goto(f"{live_server.url}{path}")
        assert_no_horizontal_scroll(page)
        shot(page, name)
    page.goto(f"{live_server.url}/activities/calendar/")
    grid, agenda = page.locator("#calendar-grid"), page.locator("#calendar-agenda")
    if page.viewport_size["width"] < 768:
        expect(grid).to_be_hidden()
        expect(agenda).to_be_visible()
    else:
        expect(grid).to_be_visible()
        expect(agenda).to_be_hidden()

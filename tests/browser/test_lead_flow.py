import os
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from crm.customers.models import Account
from crm.leads.models import DisqualifyReason, Lead, LeadStatus
from crm.leads.tests.factories import AssignmentRuleFactory, LeadFactory, WebFormFactory
from crm.users.models import Role
from crm.users.tests.factories import PASSWORD, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Set CRM_SCREENSHOTS=/some/folder to keep screenshots of the pages the tests walk through.
SHOTS = os.environ.get("CRM_SCREENSHOTS", "")


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        width = page.viewport_size["width"]
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)


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


def test_create_a_lead_find_it_and_convert_it_into_an_account(page, live_server):
    marta = UserFactory(username="marta", role=Role.SALES, language="es")
    log_in(page, live_server, "marta")

    # Create a lead.
    page.goto(f"{live_server.url}/leads/create/")
    assert_no_horizontal_scroll(page)
    page.fill("#id_first_name", "Lucía")
    page.fill("#id_last_name", "García")
    page.fill("#id_company", "Ferretería Muñoz SL")
    page.fill("#id_email", "lucia@ferreteriamunoz.es")
    page.fill("#id_phone", "612 34 56 78")
    page.fill("#id_products_of_interest", "Tornillería")
    page.select_option("#id_owner", str(marta.pk))
    shot(page, "lead-form")
    page.click("#lead-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Lucía García")
    lead = Lead.objects.get()
    assert lead.phone == "+34612345678"

    # Add a note, then see it in the list (search live, without accents).
    page.fill("#id_body", "Quiere 20 cajas")
    page.click("#timeline-block button[type=submit]")
    expect(page.locator("#timeline-block")).to_contain_text("Quiere 20 cajas")
    shot(page, "lead-detail")
    assert_no_horizontal_scroll(page)
    page.goto(f"{live_server.url}/leads/")
    page.fill("#id_q", "munoz")
    result = page.locator("#results a.row-link", has_text="Lucía García")
    expect(result).to_be_visible()
    assert_no_horizontal_scroll(page)
    expect(page.locator("#bulk-bar")).not_to_be_visible()
    page.locator(".lead-check").first.check()
    expect(page.locator("#bulk-bar")).to_be_visible()
    assert_no_horizontal_scroll(page)
    shot(page, "lead-list")
    result.click()

    # Convert it into an account and a contact (opportunities are tested without a browser).
    page.click("#convert-button")
    expect(page).to_have_url(f"{live_server.url}/leads/{lead.pk}/convert/")
    assert_no_horizontal_scroll(page)
    expect(page.locator("#id_opportunity_amount")).not_to_be_visible()
    page.check("#id_create_opportunity")
    expect(page.locator("#id_opportunity_amount")).to_be_visible()
    page.uncheck("#id_create_opportunity")
    shot(page, "lead-convert")
    page.click("#convert-form button[type=submit]")

    # The account page shows the lead's history.
    account = Account.objects.get()
    expect(page).to_have_url(f"{live_server.url}/accounts/{account.pk}/")
    expect(page.locator("h1")).to_have_text("Ferretería Muñoz SL")
    expect(page.locator("#timeline-block")).to_contain_text("Quiere 20 cajas")
    assert_no_horizontal_scroll(page)
    shot(page, "account-after-convert")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert lead.converted_contact.first_name == "Lucía"


def test_status_change_inline_asks_a_reason_when_disqualifying(page, live_server):
    owner = UserFactory(username="iker", role=Role.SALES)
    lead = LeadFactory(first_name="Jon", company="Sidrería", owner=owner)
    # Transactional tests empty the tables that migrations filled.
    DisqualifyReason.objects.get_or_create(name="Sin presupuesto")
    log_in(page, live_server, "iker")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    page.evaluate("window.__notReloaded = true")

    expect(page.locator("#id_reason")).not_to_be_visible()
    page.select_option("#id_status", "disqualified")
    expect(page.locator("#id_reason")).to_be_visible()
    page.select_option("#id_reason", label="Sin presupuesto")
    page.click("#status-form button[type=submit]")
    expect(page.locator("#status-form [role=status]")).to_be_visible()
    expect(page.locator("#status-badge")).to_have_class(re.compile("text-bg-secondary"))

    assert page.evaluate("window.__notReloaded") is True
    lead.refresh_from_db()
    assert lead.status == LeadStatus.DISQUALIFIED


def test_assignment_rules_page_try_it(page, live_server):
    UserFactory(username="jefa", role=Role.ADMIN)
    rep = UserFactory(username="pablo", first_name="Pablo", last_name="Ruiz")
    AssignmentRuleFactory(name="Valencia", provinces=["46"], target_user=rep)
    log_in(page, live_server, "jefa")

    page.goto(f"{live_server.url}/leads/rules/")
    assert_no_horizontal_scroll(page)
    page.select_option("#id_try-province", "46")
    page.click("#try-it button[type=submit]")
    expect(page.locator("#try-result")).to_contain_text("Valencia")
    expect(page.locator("#try-result")).to_contain_text("Pablo Ruiz")
    assert_no_horizontal_scroll(page)
    shot(page, "assignment-rules")


def test_public_web_form_submits(page, live_server):
    cache.clear()
    web_form = WebFormFactory(
        title="Pide información", fields=["company", "phone", "message"], thank_you_message=""
    )

    page.goto(f"{live_server.url}/forms/{web_form.key}/")
    assert_no_horizontal_scroll(page)
    expect(page.locator("#id_website")).not_to_be_in_viewport()
    page.fill("#id_first_name", "Ana")
    page.fill("#id_email", "ana@example.com")
    page.fill("#id_company", "Panadería Ana")
    page.fill("#id_message", "¿Hacéis envíos a Soria?")
    box = page.locator("#public-form button[type=submit]").bounding_box()
    assert box["height"] >= 44
    shot(page, "webform-public")
    page.click("#public-form button[type=submit]")

    expect(page.locator("#thanks")).to_be_visible()
    assert_no_horizontal_scroll(page)
    lead = Lead.objects.get()
    assert lead.web_form == web_form
    assert lead.notes == "¿Hacéis envíos a Soria?"

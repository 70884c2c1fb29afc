import pytest
from playwright.sync_api import expect

from crm.customers.models import Account
from crm.customers.tests.factories import AccountFactory
from crm.users.models import Role
from crm.users.tests.factories import PASSWORD, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def assert_no_horizontal_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url} scrolls sideways: {width}px > {viewport}px"


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    assert_no_horizontal_scroll(page)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/")


def test_create_account_with_invalid_nif_then_correct_find_and_open(page, live_server):
    UserFactory(username="marta", role=Role.SALES, language="es")

    # Log in.
    log_in(page, live_server, "marta")
    assert_no_horizontal_scroll(page)
    expect(page.locator("html")).to_have_attribute("lang", "es")

    # Create an account with an invalid NIF: the error stands beside the field.
    page.goto(f"{live_server.url}/accounts/create/")
    assert_no_horizontal_scroll(page)
    page.fill("#id_name", "Ferretería Muñoz SL")
    page.fill("#id_nif", "B12345678")
    page.fill("#id_phone", "612 34 56 78")
    page.click("#account-form button[type=submit]")
    error = page.locator("#id_nif_error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("NIF")
    expect(page.locator("#id_nif")).to_have_attribute("aria-invalid", "true")
    assert Account.objects.count() == 0
    assert_no_horizontal_scroll(page)

    # Correct it and save.
    page.fill("#id_nif", "B12345674")
    page.click("#account-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Ferretería Muñoz SL")
    account = Account.objects.get()
    assert account.nif == "B12345674"
    assert account.phone == "+34612345678"

    # Find it by search (live, without accents) and open it.
    page.goto(f"{live_server.url}/accounts/")
    page.fill("#id_q", "munoz")
    result = page.locator("#results a.row-link", has_text="Ferretería Muñoz SL")
    expect(result).to_be_visible()
    assert_no_horizontal_scroll(page)
    result.click()
    expect(page).to_have_url(f"{live_server.url}/accounts/{account.pk}/")
    expect(page.locator("h1")).to_have_text("Ferretería Muñoz SL")
    assert_no_horizontal_scroll(page)


def test_phone_navigation_is_an_off_canvas_menu_with_finger_sized_targets(phone_page, live_server):
    page = phone_page
    UserFactory(username="luis", role=Role.SALES)
    log_in(page, live_server, "luis")

    toggler = page.locator(".navbar-toggler")
    box = toggler.bounding_box()
    assert box["height"] >= 44
    assert box["width"] >= 44
    expect(page.locator("#main-menu")).not_to_be_visible()
    toggler.click()
    menu = page.locator("#main-menu")
    expect(menu).to_be_visible()
    link = menu.locator("a.nav-link[href='/accounts/']")
    expect(link).to_be_visible()
    assert link.bounding_box()["height"] >= 44
    link.click()
    expect(page).to_have_url(f"{live_server.url}/accounts/")
    assert_no_horizontal_scroll(page)


def test_inline_lifecycle_change_and_note_without_reloading(page, live_server):
    owner = UserFactory(username="iker", role=Role.SALES)
    account = AccountFactory(owner=owner, name="Sidrería Etxeberria")
    log_in(page, live_server, "iker")
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    page.evaluate("window.__notReloaded = true")

    page.select_option("#id_lifecycle", "customer")
    expect(page.locator("#lifecycle-form [role=status]")).to_be_visible()
    expect(page.locator("#timeline-block .changes")).to_contain_text("Cliente")
    page.fill("#id_body", "Pide presupuesto de 20 cajas")
    page.click("#timeline-block button[type=submit]")
    expect(page.locator("#timeline-block")).to_contain_text("Pide presupuesto de 20 cajas")

    assert page.evaluate("window.__notReloaded") is True
    account.refresh_from_db()
    assert account.lifecycle == "customer"
    assert account.events.filter(kind="note", body="Pide presupuesto de 20 cajas").exists()
    assert_no_horizontal_scroll(page)

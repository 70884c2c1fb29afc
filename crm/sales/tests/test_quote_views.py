"""The quote builder pages: every view, 404 for a foreign quote on every method, the live
totals and the comparison."""

from decimal import Decimal

import pytest
from django.urls import reverse

from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.sales import quotes
from crm.sales.models import Opportunity, Quote, QuoteLine, QuoteStatus
from crm.sales.tests.factories import OpportunityFactory, ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


@pytest.fixture
def opportunity(rep):
    account = AccountFactory(owner=rep, name="Talleres Pérez SL")
    return OpportunityFactory(account=account, contact=ContactFactory(account=account))


@pytest.fixture
def quote(rep, opportunity):
    return quotes.quote_create(actor=rep, opportunity=opportunity, fields={"title": "Alarma"})


@pytest.fixture
def line(rep, quote):
    return quotes.quote_line_add(
        actor=rep,
        quote=quote,
        description="Central de alarma",
        quantity=Decimal(2),
        unit_price=Decimal("100.00"),
    )


@pytest.fixture
def foreign_quote(other_rep):
    opportunity = OpportunityFactory(account=AccountFactory(owner=other_rep))
    quote = quotes.quote_create(actor=other_rep, opportunity=opportunity, fields={})
    quotes.quote_line_add(actor=other_rep, quote=quote, description="Ajena", unit_price=Decimal(10))
    return quote


def _sent(quote):
    Quote.objects.filter(pk=quote.pk).update(
        status=QuoteStatus.SENT, year=2026, sequence=3, number="P-2026-0003"
    )
    quote.refresh_from_db()
    return quote


# -- create and header --


def test_create_page_offers_the_deals_contacts(rep_client, opportunity):
    response = rep_client.get(reverse("quote-create") + f"?opportunity={opportunity.pk}")

    assert response.status_code == 200
    assert list(response.context["form"].fields["contact"].queryset) == [opportunity.contact]


def test_create_makes_a_draft_and_opens_the_builder(rep_client, opportunity):
    response = rep_client.post(
        reverse("quote-create") + f"?opportunity={opportunity.pk}",
        {"title": "Oferta", "contact": opportunity.contact.pk, "term_months": "12"},
    )

    quote = Quote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("quote-detail", args=[quote.pk])
    assert (quote.title, quote.contact, quote.status) == ("Oferta", opportunity.contact, "draft")


@pytest.mark.parametrize("query", ["", "?opportunity=abc", "?opportunity=999999"])
def test_create_without_a_valid_deal_is_404(rep_client, query):
    assert rep_client.get(reverse("quote-create") + query).status_code == 404


def test_create_for_a_foreign_deal_is_404_and_creates_nothing(rep_client, other_rep):
    foreign = OpportunityFactory(account=AccountFactory(owner=other_rep))
    url = reverse("quote-create") + f"?opportunity={foreign.pk}"

    assert rep_client.get(url).status_code == 404
    assert rep_client.post(url, {"title": "X", "term_months": "12"}).status_code == 404
    assert Quote.objects.count() == 0


def test_create_with_bad_dates_shows_the_error_beside_the_field(rep_client, opportunity):
    response = rep_client.post(
        reverse("quote-create") + f"?opportunity={opportunity.pk}",
        {"issue_date": "2026-05-02", "valid_until": "2026-05-01", "term_months": "12"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["valid_until"]
    assert 'id="id_valid_until_error"' in response.content.decode()
    assert Quote.objects.count() == 0


def test_update_saves_the_header(rep_client, quote):
    response = rep_client.post(
        reverse("quote-update", args=[quote.pk]),
        {"title": "Alarma y cámaras", "term_months": "36", "valid_until": "2026-12-31"},
    )

    assert response.status_code == 302
    quote.refresh_from_db()
    assert (quote.title, quote.term_months, str(quote.valid_until)) == (
        "Alarma y cámaras",
        36,
        "2026-12-31",
    )


def test_update_of_a_sent_quote_goes_back_to_it(rep_client, quote):
    _sent(quote)

    response = rep_client.post(reverse("quote-update", args=[quote.pk]), {"title": "Otro"})

    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.title == "Alarma"


# -- the builder --


def test_detail_shows_lines_totals_and_spanish_money(rep_client, quote, line):
    response = rep_client.get(reverse("quote-detail", args=[quote.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="line-{line.pk}"' in html
    assert 'value="Central de alarma"' in html
    assert '<dd class="col-6 text-end mb-1" id="total-base">200,00\xa0€</dd>' in html
    assert 'id="total-total">242,00\xa0€</dd>' in html
    assert f'href="/quotes/{quote.pk}/send/"' in html
    assert f'href="/quotes/{quote.pk}/pdf/"' in html
    assert "recurring-value" not in html


def test_detail_of_a_sent_quote_is_read_only(rep_client, quote, line):
    _sent(quote)

    html = rep_client.get(reverse("quote-detail", args=[quote.pk])).content.decode()

    assert 'name="quantity"' not in html
    assert "line-add-form" not in html
    assert f'href="/quotes/{quote.pk}/send/"' not in html
    assert reverse("quote-revise", args=[quote.pk]) in html


def test_live_line_update_returns_the_row_and_exact_totals_out_of_band(rep_client, quote, line):
    response = rep_client.post(
        reverse("quote-line-update", args=[quote.pk, line.pk]),
        {
            "description": "Central de alarma",
            "quantity": "3",
            "unit_price": "1.234,56",
            "discount_percent": "12,5",
            "vat_rate": "10",
            "recurrence": "one_off",
        },
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    line.refresh_from_db()
    # 3 × 1.234,56 = 3.703,68 − 12,5 % = 3.240,72; VAT 10 % = 324,07
    assert (line.quantity, line.unit_price, line.discount_percent, line.base) == (
        Decimal(3),
        Decimal("1234.56"),
        Decimal("12.5"),
        Decimal("3240.72"),
    )
    assert html.lstrip().startswith(f'<form id="line-{line.pk}"')
    assert f'<output id="line-{line.pk}-base"' in html
    assert "3.240,72\xa0€</output>" in html
    assert 'id="quote-totals" aria-live="polite" hx-swap-oob="true"' in html
    assert 'id="total-base">3.240,72\xa0€</dd>' in html
    assert 'id="total-vat">324,07\xa0€</dd>' in html
    assert 'id="total-total">3.564,79\xa0€</dd>' in html
    assert 'value="1.234,56"' in html  # what was typed stays as typed


def test_live_line_update_with_a_bad_number_shows_the_error_and_saves_nothing(
    rep_client, quote, line
):
    response = rep_client.post(
        reverse("quote-line-update", args=[quote.pk, line.pk]),
        {"description": "Central de alarma", "quantity": "dos", "unit_price": "100"},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Write a number such as 1.234,56." in html
    assert 'aria-invalid="true"' in html
    line.refresh_from_db()
    assert line.quantity == Decimal(2)
    assert 'id="total-total">242,00\xa0€</dd>' in html


def test_line_update_without_htmx_redirects(rep_client, quote, line):
    response = rep_client.post(
        reverse("quote-line-update", args=[quote.pk, line.pk]),
        {"description": "Otra", "quantity": "1", "unit_price": "5"},
    )

    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.description, line.base) == ("Otra", Decimal("5.00"))


def test_totals_partial(rep_client, quote, line):
    response = rep_client.get(reverse("quote-totals", args=[quote.pk]), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert '<tr data-vat="21"><td>21 %</td>' in html
    assert 'id="total-base">200,00\xa0€</dd>' in html
    assert 'id="total-vat">42,00\xa0€</dd>' in html
    assert 'id="total-total">242,00\xa0€</dd>' in html
    assert "<html" not in html


def test_recurring_panel_shows_monthly_yearly_and_whole_term(rep_client, rep, quote):
    quotes.quote_update(actor=rep, quote=quote, fields={"term_months": 24})
    quotes.quote_line_add(
        actor=rep,
        quote=quote,
        description="Cuota",
        unit_price=Decimal("49.90"),
        recurrence="monthly",
    )
    quotes.quote_line_add(actor=rep, quote=quote, description="Alta", unit_price=Decimal(300))

    html = rep_client.get(reverse("quote-totals", args=[quote.pk]), **HTMX).content.decode()

    assert 'id="recurring-monthly">49,90\xa0€</dd>' in html
    assert 'id="recurring-yearly">598,80\xa0€</dd>' in html
    assert 'id="recurring-term">1.497,60\xa0€</dd>' in html


def test_add_a_line_from_the_catalog(rep_client, quote):
    product = ProductFactory(
        name="Detector", unit="ud.", unit_price=Decimal("35.00"), vat_rate="21"
    )

    response = rep_client.post(
        reverse("quote-line-add", args=[quote.pk]), {"product": product.pk}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    line = quote.lines.get()
    assert (line.product, line.description, line.unit_price, line.base) == (
        product,
        "Detector",
        Decimal("35.00"),
        Decimal("35.00"),
    )
    assert '<div id="quote-lines" hx-swap-oob="true">' in html
    assert 'id="total-total">42,35\xa0€</dd>' in html


def test_add_a_free_text_line_with_errors_beside_the_fields(rep_client, quote):
    response = rep_client.post(
        reverse("quote-line-add", args=[quote.pk]),
        {"description": "", "unit_price": "abc"},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_unit_price_error"' in html
    assert "hx-swap-oob" not in html
    assert quote.lines.count() == 0


def test_add_a_free_text_line(rep_client, quote):
    response = rep_client.post(
        reverse("quote-line-add", args=[quote.pk]),
        {
            "description": "Instalación",
            "quantity": "1,5",
            "unit_price": "80",
            "vat_rate": "21",
            "recurrence": "one_off",
        },
    )

    assert response.status_code == 302
    line = quote.lines.get()
    assert (line.description, line.quantity, line.base) == (
        "Instalación",
        Decimal("1.5"),
        Decimal("120.00"),
    )


def test_delete_a_line(rep_client, quote, line):
    response = rep_client.post(reverse("quote-line-delete", args=[quote.pk, line.pk]), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert QuoteLine.objects.count() == 0
    assert 'id="total-total">0,00\xa0€</dd>' in html


def test_move_a_line(rep_client, rep, quote, line):
    second = quotes.quote_line_add(
        actor=rep, quote=quote, description="Sirena", unit_price=Decimal(10)
    )

    response = rep_client.post(
        reverse("quote-line-move", args=[quote.pk, second.pk]), {"direction": "up"}, **HTMX
    )

    assert response.status_code == 200
    assert list(quote.lines.values_list("description", flat=True)) == [
        "Sirena",
        "Central de alarma",
    ]


def test_product_search_lists_active_products(rep_client, quote):
    for code, name, active in [
        ("DET-1", "Detector volumétrico", True),
        ("DET-2", "Detector antiguo", False),
        ("CAM-1", "Cámara", True),
    ]:
        product = ProductFactory(code=code, name=name, is_active=active)
        product.refresh_search_text()  # the factory saves the row directly
        product.save()

    response = rep_client.get(
        reverse("quote-product-search", args=[quote.pk]), {"q": "detector"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "DET-1" in html
    assert "DET-2" not in html
    assert "CAM-1" not in html


def test_lines_of_a_sent_quote_cannot_be_changed_through_the_pages(rep_client, quote, line):
    _sent(quote)

    rep_client.post(
        reverse("quote-line-update", args=[quote.pk, line.pk]),
        {"description": "X", "quantity": "9", "unit_price": "1"},
        **HTMX,
    )
    rep_client.post(reverse("quote-line-add", args=[quote.pk]), {"description": "Y"}, **HTMX)
    rep_client.post(reverse("quote-line-delete", args=[quote.pk, line.pk]), **HTMX)

    assert list(QuoteLine.objects.values_list("description", "quantity")) == [
        ("Central de alarma", Decimal(2))
    ]


def test_a_line_of_another_quote_is_404(rep_client, rep, opportunity, quote, line):
    other = quotes.quote_create(actor=rep, opportunity=opportunity, fields={})

    response = rep_client.post(
        reverse("quote-line-update", args=[other.pk, line.pk]), {"quantity": "5"}, **HTMX
    )

    assert response.status_code == 404


# -- versions, alternatives, delete --


def test_revise_redirects_to_version_2(rep_client, quote, line):
    _sent(quote)

    response = rep_client.post(reverse("quote-revise", args=[quote.pk]))

    revision = Quote.objects.get(previous=quote)
    assert response["Location"] == reverse("quote-detail", args=[revision.pk])
    html = rep_client.get(response["Location"]).content.decode()
    assert "P-2026-0003 v2" in html
    assert 'id="quote-versions"' in html


def test_revise_a_draft_is_refused(rep_client, quote):
    response = rep_client.post(reverse("quote-revise", args=[quote.pk]))

    assert response.status_code == 302
    assert Quote.objects.count() == 1


def test_duplicate_as_alternative(rep_client, quote, line):
    response = rep_client.post(reverse("quote-duplicate", args=[quote.pk]))

    alternative = Quote.objects.exclude(pk=quote.pk).get()
    assert response["Location"] == reverse("quote-detail", args=[alternative.pk])
    assert alternative.lines.count() == 1


def test_delete_a_draft_goes_to_the_deal(rep_client, quote, line):
    response = rep_client.post(reverse("quote-delete", args=[quote.pk]))

    assert response.status_code == 302
    assert response["Location"] == f"/opportunities/{quote.opportunity_id}/"
    assert Quote.objects.count() == 0


def test_delete_a_sent_quote_is_refused(rep_client, quote):
    _sent(quote)

    rep_client.post(reverse("quote-delete", args=[quote.pk]))

    assert Quote.objects.count() == 1


def test_delete_needs_post(rep_client, quote):
    assert rep_client.get(reverse("quote-delete", args=[quote.pk])).status_code == 405
    assert Quote.objects.count() == 1


# -- compare --


def test_compare_puts_the_same_product_on_the_same_row(rep_client, rep, opportunity):
    product = ProductFactory(name="Central", unit_price=Decimal(100))
    first = quotes.quote_create(actor=rep, opportunity=opportunity, fields={"title": "A"})
    quotes.quote_line_add(actor=rep, quote=first, product=product)
    quotes.quote_line_add(
        actor=rep,
        quote=first,
        description="Cuota",
        unit_price=Decimal(30),
        recurrence="monthly",
    )
    second = quotes.quote_create(actor=rep, opportunity=opportunity, fields={"title": "B"})
    quotes.quote_line_add(actor=rep, quote=second, product=product, quantity=Decimal(2))

    response = rep_client.get(reverse("quote-compare") + f"?ids={first.pk},{second.pk}")

    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert [c.quote for c in comparison.columns] == [first, second]
    assert [
        (row.label, [cell.base if cell else None for cell in row.cells]) for row in comparison.rows
    ] == [("Central", [Decimal("100.00"), Decimal("200.00")]), ("Cuota", [Decimal("30.00"), None])]
    assert [c.figures.totals.total for c in comparison.columns] == [
        Decimal("157.30"),
        Decimal("242.00"),
    ]
    assert [c.figures.recurring.yearly for c in comparison.columns] == [
        Decimal("360.00"),
        Decimal("0.00"),
    ]
    html = response.content.decode()
    assert "157,30\xa0€" in html
    assert "242,00\xa0€" in html


def test_compare_accepts_repeated_ids(rep_client, rep, opportunity, quote):
    other = quotes.quote_create(actor=rep, opportunity=opportunity, fields={})

    response = rep_client.get(reverse("quote-compare"), {"ids": [quote.pk, other.pk]})

    assert response.status_code == 200


def test_compare_with_a_foreign_quote_is_404(rep_client, quote, foreign_quote):
    response = rep_client.get(reverse("quote-compare") + f"?ids={quote.pk},{foreign_quote.pk}")

    assert response.status_code == 404


@pytest.mark.parametrize("ids", ["", "1", "a,b"])
def test_compare_needs_two_quotes(rep_client, quote, ids):
    assert rep_client.get(reverse("quote-compare") + f"?ids={ids}").status_code == 404


def test_compare_quotes_of_different_deals_is_404(rep_client, rep, quote):
    other_deal = OpportunityFactory(account=AccountFactory(owner=rep))
    other = quotes.quote_create(actor=rep, opportunity=other_deal, fields={})

    response = rep_client.get(reverse("quote-compare") + f"?ids={quote.pk},{other.pk}")

    assert response.status_code == 404


# -- visibility --


def _foreign_requests(quote):
    line = quote.lines.get()
    return [
        ("get", reverse("quote-detail", args=[quote.pk]), {}),
        ("get", reverse("quote-update", args=[quote.pk]), {}),
        ("post", reverse("quote-update", args=[quote.pk]), {"title": "Mío"}),
        ("post", reverse("quote-delete", args=[quote.pk]), {}),
        ("post", reverse("quote-revise", args=[quote.pk]), {}),
        ("post", reverse("quote-duplicate", args=[quote.pk]), {}),
        ("get", reverse("quote-totals", args=[quote.pk]), {}),
        ("get", reverse("quote-product-search", args=[quote.pk]), {}),
        ("post", reverse("quote-line-add", args=[quote.pk]), {"description": "X"}),
        ("post", reverse("quote-line-update", args=[quote.pk, line.pk]), {"quantity": "9"}),
        ("post", reverse("quote-line-delete", args=[quote.pk, line.pk]), {}),
        ("post", reverse("quote-line-move", args=[quote.pk, line.pk]), {"direction": "up"}),
    ]


def test_every_page_of_a_foreign_quote_is_404_and_changes_nothing(rep_client, foreign_quote):
    before = list(QuoteLine.objects.values_list("id", "description", "quantity", "unit_price"))
    amount = Opportunity.objects.get(pk=foreign_quote.opportunity_id).amount

    for method, url, data in _foreign_requests(foreign_quote):
        response = getattr(rep_client, method)(url, data)
        assert response.status_code == 404, (method, url)
        response = getattr(rep_client, method)(url, data, **HTMX)
        assert response.status_code == 404, (method, url, "htmx")

    assert Quote.objects.count() == 1
    foreign_quote.refresh_from_db()
    assert (foreign_quote.title, foreign_quote.status) == (
        foreign_quote.opportunity.title,
        "draft",
    )
    assert list(QuoteLine.objects.values_list("id", "description", "quantity", "unit_price")) == (
        before
    )
    assert Opportunity.objects.get(pk=foreign_quote.opportunity_id).amount == amount


def test_a_manager_sees_the_quotes_of_the_team(client, manager, quote):
    client.force_login(manager)

    assert client.get(reverse("quote-detail", args=[quote.pk])).status_code == 200


def test_pages_need_a_login(client, quote):
    response = client.get(reverse("quote-detail", args=[quote.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))

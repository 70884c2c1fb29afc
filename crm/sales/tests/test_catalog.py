"""The catalog pages: everyone reads, administrators create, change and import."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.sales import quotes
from crm.sales.models import Product, ProductCategory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


@pytest.fixture
def catalog(admin):
    security = ProductCategory.objects.create(name="Seguridad")
    items = [
        ("CAM-01", "Cámara IP", "product", security, Decimal("1234.5"), True),
        ("MAN-01", "Mantenimiento anual", "service", None, Decimal("300"), True),
        ("OLD-01", "Cámara analógica", "product", security, Decimal("50"), False),
    ]
    return [
        quotes.product_save(
            actor=admin,
            fields={
                "code": code,
                "name": name,
                "kind": kind,
                "category": category,
                "unit_price": price,
                "is_active": active,
            },
        )
        for code, name, kind, category, price, active in items
    ]


def _codes(response) -> list[str]:
    return [p.code for p in response.context["page"].object_list]


def test_everyone_reads_the_active_catalog_with_spanish_prices(rep_client, catalog):
    response = rep_client.get(reverse("product-list"))

    html = response.content.decode()
    assert response.status_code == 200
    assert _codes(response) == ["CAM-01", "MAN-01"]
    assert "1.234,50\xa0€" in html
    assert reverse("product-create") not in html
    assert reverse("product-update", args=[catalog[0].pk]) not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "camara"}, ["CAM-01"]),
        ({"q": "camara", "active": "all"}, ["CAM-01", "OLD-01"]),
        ({"active": "no"}, ["OLD-01"]),
        ({"kind": "service"}, ["MAN-01"]),
        ({"category": "category"}, ["CAM-01"]),
        ({"q": "MAN-01"}, ["MAN-01"]),
    ],
)
def test_filters(rep_client, catalog, query, expected):
    if query.get("category") == "category":
        query = {"category": ProductCategory.objects.get(name="Seguridad").pk}

    response = rep_client.get(reverse("product-list"), query)

    assert _codes(response) == expected


def test_htmx_gets_the_results_only(rep_client, catalog):
    response = rep_client.get(reverse("product-list"), {"q": "mant"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert "Mantenimiento anual" in html


def test_the_list_is_paginated(rep_client, admin):
    for number in range(30):
        quotes.product_save(
            actor=admin,
            fields={"code": f"P{number:02d}", "name": f"Producto {number:02d}", "unit_price": 1},
        )

    first = rep_client.get(reverse("product-list"))
    second = rep_client.get(reverse("product-list"), {"page": 2})

    assert len(first.context["page"].object_list) == 25
    assert _codes(second) == [f"P{n:02d}" for n in range(25, 30)]


def test_admin_creates_a_product_with_a_spanish_price(admin_client):
    response = admin_client.post(
        reverse("product-create"),
        {
            "code": "ROU-01",
            "name": "Router",
            "kind": "product",
            "unit": "ud.",
            "unit_price": "1.089,90",
            "vat_rate": "21",
            "recurrence": "one_off",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    product = Product.objects.get()
    assert (product.code, product.unit_price, product.search_text) == (
        "ROU-01",
        Decimal("1089.90"),
        "rou-01 router",
    )


def test_a_repeated_code_is_shown_beside_the_field(admin_client, catalog):
    response = admin_client.post(
        reverse("product-create"),
        {
            "code": "CAM-01",
            "name": "Otra",
            "kind": "product",
            "unit": "ud.",
            "unit_price": "1",
            "vat_rate": "21",
            "recurrence": "one_off",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert 'id="id_code_error"' in response.content.decode()
    assert Product.objects.count() == 3


def test_admin_updates_a_product(admin_client, catalog):
    product = catalog[0]

    page = admin_client.get(reverse("product-update", args=[product.pk]))
    assert 'value="1234,50"' in page.content.decode()
    response = admin_client.post(
        reverse("product-update", args=[product.pk]),
        {
            "code": "CAM-01",
            "name": "Cámara IP 4K",
            "kind": "product",
            "unit": "ud.",
            "unit_price": "199,00",
            "vat_rate": "10",
            "recurrence": "one_off",
        },
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.unit_price, product.vat_rate, product.is_active) == (
        "Cámara IP 4K",
        Decimal("199.00"),
        "10",
        False,
    )


@pytest.mark.parametrize("name", ["product-create", "product-import"])
def test_a_rep_cannot_open_the_edit_pages(rep_client, name):
    assert rep_client.get(reverse(name)).status_code == 403
    assert rep_client.post(reverse(name), {"code": "X"}).status_code == 403
    assert Product.objects.count() == 0


def test_a_rep_cannot_change_a_product(rep_client, catalog):
    product = catalog[0]

    response = rep_client.post(
        reverse("product-update", args=[product.pk]), {"code": "X", "name": "Y"}
    )

    assert response.status_code == 403
    product.refresh_from_db()
    assert (product.code, product.name) == ("CAM-01", "Cámara IP")


def test_import_page_reports_created_updated_and_failed_rows(admin_client, catalog):
    upload = SimpleUploadedFile(
        "catalogo.csv",
        "Código;Nombre;Precio;IVA;Color\nCAM-01;;99,90;;\nNEW-01;Nuevo;10;21;rojo\nBAD;Malo;x;21;\n".encode(),
    )

    response = admin_client.post(reverse("product-import"), {"file": upload})

    html = response.content.decode()
    assert response.status_code == 200
    result = response.context["result"]
    assert (result.created, result.updated, result.unmapped) == (1, 1, ["Color"])
    assert result.errors == [(4, "“x” is not a price such as 1.234,56.")]
    assert "“x” is not a price such as 1.234,56." in html
    assert Product.objects.get(code="CAM-01").unit_price == Decimal("99.90")


def test_import_of_a_file_that_is_not_a_table_shows_the_error(admin_client):
    upload = SimpleUploadedFile("foto.png", b"\x89PNG\r\n\x1a\n\x00\x00")

    response = admin_client.post(reverse("product-import"), {"file": upload})

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert Product.objects.count() == 0

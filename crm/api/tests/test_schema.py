"""The OpenAPI schema and the Swagger UI, served from this server only (no CDN)."""

import re
from urllib.parse import urlsplit

from django.contrib.staticfiles import finders
from django.core.management import call_command
from rest_framework.test import APIClient

ASSET = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", re.I)


def signed_in(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_schema_and_docs_need_a_login(db):
    assert APIClient().get("/api/schema/").status_code == 401
    assert APIClient().get("/api/docs/").status_code == 401


def test_schema_is_openapi_3_with_every_endpoint(rep):
    # when
    response = signed_in(rep).get("/api/schema/", HTTP_ACCEPT="application/json")
    # then
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert sorted(schema["paths"]) == [
        "/api/v1/accounts/",
        "/api/v1/accounts/{id}/",
        "/api/v1/assignment-rules/",
        "/api/v1/assignment-rules/preview/",
        "/api/v1/assignment-rules/{id}/",
        "/api/v1/assignment-rules/{id}/move/",
        "/api/v1/auth/token/",
        "/api/v1/contacts/",
        "/api/v1/contacts/{id}/",
        "/api/v1/disqualify-reasons/",
        "/api/v1/disqualify-reasons/{id}/",
        "/api/v1/lead-imports/",
        "/api/v1/lead-imports/{id}/",
        "/api/v1/lead-imports/{id}/failures/",
        "/api/v1/lead-imports/{id}/undo/",
        "/api/v1/leads/",
        "/api/v1/leads/bulk/",
        "/api/v1/leads/{id}/",
        "/api/v1/leads/{id}/convert/",
        "/api/v1/leads/{id}/notes/",
        "/api/v1/leads/{id}/status/",
        "/api/v1/leads/{id}/timeline/",
        "/api/v1/lost-reasons/",
        "/api/v1/lost-reasons/{id}/",
        "/api/v1/opportunities/",
        "/api/v1/opportunities/{id}/",
        "/api/v1/opportunities/{id}/move/",
        "/api/v1/opportunities/{id}/notes/",
        "/api/v1/opportunities/{id}/stage-history/",
        "/api/v1/opportunities/{id}/timeline/",
        "/api/v1/pipelines/",
        "/api/v1/pipelines/{id}/",
        "/api/v1/pipelines/{id}/set-default/",
        "/api/v1/pipelines/{id}/stages/",
        "/api/v1/pipelines/{id}/stages/{stage_id}/",
        "/api/v1/pipelines/{id}/stages/{stage_id}/move/",
        "/api/v1/product-categories/",
        "/api/v1/product-categories/{id}/",
        "/api/v1/products/",
        "/api/v1/products/{id}/",
        "/api/v1/products/{id}/deactivate/",
        "/api/v1/quotes/",
        "/api/v1/quotes/{id}/",
        "/api/v1/quotes/{id}/lines/",
        "/api/v1/quotes/{id}/lines/{line_id}/",
        "/api/v1/quotes/{id}/pdf/",
        "/api/v1/quotes/{id}/revise/",
        "/api/v1/quotes/{id}/send/",
        "/api/v1/quotes/{id}/win/",
        "/api/v1/reports/dashboard/",
        "/api/v1/reports/report/",
        "/api/v1/reports/vocabulary/",
        "/api/v1/users/",
        "/api/v1/users/{id}/",
    ]
    assert sorted(schema["paths"]["/api/v1/accounts/{id}/"]) == ["delete", "get", "patch", "put"]
    assert sorted(schema["paths"]["/api/v1/users/{id}/"]) == [
        "delete",
        "get",
        "patch",
        "put",
    ]
    conflict = schema["paths"]["/api/v1/accounts/"]["post"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Duplicates"
    }
    filters = {p["name"] for p in schema["paths"]["/api/v1/accounts/"]["get"]["parameters"]}
    assert filters == {
        "q",
        "kind",
        "lifecycle",
        "province",
        "sector",
        "channel",
        "size_segment",
        "owner",
        "team",
        "tag",
        "sort",
        "page",
        "page_size",
    }


def test_schema_validates_without_warnings(tmp_path, db):
    # when: the same check as `manage.py spectacular --validate --fail-on-warn`
    call_command("spectacular", validate=True, fail_on_warn=True, file=str(tmp_path / "s.yaml"))
    # then
    assert (tmp_path / "s.yaml").read_text().startswith("openapi: 3.")


def test_docs_page_loads_no_asset_from_another_host(rep):
    # when
    response = signed_in(rep).get("/api/docs/")
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = ASSET.findall(html)
    assert any("swagger-ui-bundle.js" in url for url in assets)
    for url in assets:
        parts = urlsplit(url)
        assert parts.scheme == "", url
        assert parts.netloc == "", url
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", html, re.I)
    assert not re.search(r"https?://", html, re.I)  # not even in the inline script


def test_docs_assets_are_shipped_with_the_server(rep):
    # given
    html = signed_in(rep).get("/api/docs/").content.decode()
    # when
    paths = [urlsplit(url).path for url in ASSET.findall(html)]
    # then
    assert paths
    for path in paths:
        assert path.startswith("/static/"), path
        assert finders.find(path.removeprefix("/static/")) is not None, path

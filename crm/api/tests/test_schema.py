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
        "/api/v1/auth/token/",
        "/api/v1/contacts/",
        "/api/v1/contacts/{id}/",
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

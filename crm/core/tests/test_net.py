from django.test import RequestFactory

from crm.core.net import client_ip


def test_without_a_proxy_the_connection_address_counts(settings):
    settings.BEHIND_PROXY = False
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="1.2.3.4")

    assert client_ip(request) == "203.0.113.5"


def test_behind_the_proxy_the_address_it_appended_counts_not_a_forged_one(settings):
    settings.BEHIND_PROXY = True
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.23"
    )

    assert client_ip(request) == "198.51.100.23"


def test_behind_the_proxy_without_the_header_the_connection_counts(settings):
    settings.BEHIND_PROXY = True
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2")

    assert client_ip(request) == "10.0.0.2"

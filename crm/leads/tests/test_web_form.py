import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from crm.core.models import Channel
from crm.leads.models import Lead, LeadSettings, WebForm
from crm.leads.tests.factories import AssignmentRuleFactory, WebFormFactory
from crm.leads.views import WEB_FORM_RATE_LIMIT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def visitor():
    """A browser on another site: no session, and CSRF checks on as in production."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def web_channel():
    return Channel.objects.get_or_create(name="Web")[0]


@pytest.fixture
def web_form(web_channel):
    return WebFormFactory(
        channel=web_channel, campaign="Primavera 2026", thank_you_message="¡Gracias, Lucía!"
    )


def url(web_form):
    return reverse("web-form-public", args=[web_form.key])


def submission(**overrides):
    data = {
        "first_name": "Lucía",
        "last_name": "García",
        "email": "lucia@example.com",
        "company": "Talleres Pérez SL",
        "phone": "612345678",
        "message": "Quiero un presupuesto",
    }
    data.update(overrides)
    return data


def test_get_shows_the_form_without_login_and_can_be_framed(visitor, web_form):
    response = visitor.get(url(web_form))

    body = response.content.decode()
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert 'name="website"' in body
    assert 'tabindex="-1"' in body
    assert 'name="company"' in body
    assert 'name="province"' not in body  # not among the form's fields
    assert "navbar" not in body


def test_post_creates_a_web_lead_with_campaign_and_owner_by_rules(visitor, web_form, rep):
    rule = AssignmentRuleFactory(name="Web", target_user=rep)
    rule.channels.set([web_form.channel])

    response = visitor.post(url(web_form), submission())

    assert response.status_code == 200
    assert "¡Gracias, Lucía!" in response.content.decode()
    assert "X-Frame-Options" not in response.headers
    lead = Lead.objects.get()
    assert lead.channel.name == "Web"
    assert lead.campaign == "Primavera 2026"
    assert lead.web_form == web_form
    assert lead.owner == rep
    assert lead.assignment_rule == rule
    assert lead.phone == "+34612345678"
    assert lead.notes == "Quiero un presupuesto"
    assert lead.created_by is None


def test_fallback_owner_gets_it_when_no_rule_matches(visitor, web_form, rep):
    LeadSettings.objects.filter(pk=1).update(fallback_owner=rep)

    visitor.post(url(web_form), submission())

    assert Lead.objects.get().owner == rep


def test_plain_external_html_form_post_is_accepted(visitor, web_form):
    response = visitor.post(
        url(web_form),
        "first_name=Pepe&email=pepe%40example.com",
        content_type="application/x-www-form-urlencoded",
        HTTP_ORIGIN="https://www.cliente.example",
    )

    assert response.status_code == 200
    assert Lead.objects.get().first_name == "Pepe"


def test_redirects_to_the_forms_address_when_set(visitor, web_form):
    WebForm.objects.filter(pk=web_form.pk).update(redirect_url="https://www.cliente.example/ok")

    response = visitor.post(url(web_form), submission())

    assert response.status_code == 302
    assert response["Location"] == "https://www.cliente.example/ok"
    assert Lead.objects.count() == 1


def test_fields_not_shown_are_ignored(visitor, web_form):
    visitor.post(url(web_form), submission(province="28", score="99", owner="1"))

    lead = Lead.objects.get()
    assert lead.province == ""
    assert lead.score == 0


def test_honeypot_answers_as_success_and_creates_nothing(visitor, web_form):
    response = visitor.post(url(web_form), submission(website="http://spam.example"))

    assert response.status_code == 200
    assert "¡Gracias, Lucía!" in response.content.decode()
    assert Lead.objects.count() == 0


def test_field_errors_are_shown_beside_the_fields(visitor, web_form):
    response = visitor.post(url(web_form), submission(first_name="", email="", phone=""))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_first_name_error"' in body
    assert 'id="id_email_error"' in body
    assert Lead.objects.count() == 0


def test_invalid_phone_is_shown_beside_it(visitor, web_form):
    response = visitor.post(url(web_form), submission(phone="12"))

    assert 'id="id_phone_error"' in response.content.decode()
    assert Lead.objects.count() == 0


def test_rate_limit_answers_429_per_address_and_form(visitor, web_form):
    for n in range(WEB_FORM_RATE_LIMIT):
        response = visitor.post(url(web_form), submission(email=f"p{n}@example.com"))
        assert response.status_code == 200

    response = visitor.post(url(web_form), submission(email="last@example.com"))

    assert response.status_code == 429
    assert 'id="rate-limited"' in response.content.decode()
    assert Lead.objects.count() == WEB_FORM_RATE_LIMIT
    other = visitor.post(url(web_form), submission(), REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 200


@pytest.mark.parametrize("key", ["inactive", "unknown"])
def test_inactive_or_unknown_form_is_404(visitor, web_form, key):
    if key == "inactive":
        WebForm.objects.filter(pk=web_form.pk).update(is_active=False)
        target = url(web_form)
    else:
        target = reverse("web-form-public", args=["no-existe"])

    assert visitor.get(target).status_code == 404
    assert visitor.post(target, submission()).status_code == 404
    assert Lead.objects.count() == 0


# -- the administrators' pages --


@pytest.fixture
def admin_client(client, admin):
    admin.language = "en"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    return client


def test_admin_creates_a_web_form_and_sees_its_snippets(admin_client, web_channel):
    response = admin_client.post(
        reverse("web-form-create"),
        {
            "name": "Contacto",
            "is_active": "on",
            "fields": ["company", "message"],
            "channel": web_channel.pk,
            "campaign": "Feria 2026",
        },
    )

    web_form = WebForm.objects.get()
    assert response["Location"] == reverse("web-form-detail", args=[web_form.pk])
    assert web_form.fields == ["company", "message"]
    page = admin_client.get(reverse("web-form-detail", args=[web_form.pk])).content.decode()
    public = f"http://testserver/forms/{web_form.key}/"
    assert f"&lt;iframe src=&quot;{public}&quot;" in page or f'&lt;iframe src="{public}"' in page
    assert f'&lt;form method="post" action="{public}"&gt;' in page
    assert 'name="website"' in page


def test_new_web_form_defaults_to_the_web_channel(admin_client, web_channel):
    response = admin_client.get(reverse("web-form-create"))

    assert response.context["form"]["channel"].value() == web_channel.pk


def test_admin_edits_and_deletes_a_web_form(admin_client, web_form):
    admin_client.post(
        reverse("web-form-update", args=[web_form.pk]),
        {"name": "Renombrado", "fields": ["phone"], "redirect_url": "https://a.example/ok"},
    )
    web_form.refresh_from_db()
    assert (web_form.name, web_form.fields, web_form.is_active) == (
        "Renombrado",
        ["phone"],
        False,
    )

    admin_client.post(reverse("web-form-delete", args=[web_form.pk]))
    assert not WebForm.objects.exists()


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "web-form-detail"),
        ("get", "web-form-update"),
        ("post", "web-form-update"),
        ("post", "web-form-delete"),
        ("get", "web-form-embed-snippet"),
    ],
)
def test_web_form_pages_are_for_administrators(client, rep, web_form, method, name):
    client.force_login(rep)

    response = getattr(client, method)(reverse(name, args=[web_form.pk]), {"name": "X"})

    assert response.status_code == 403
    web_form.refresh_from_db()
    assert web_form.name != "X"

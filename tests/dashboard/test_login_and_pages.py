"""Signing in and out, and every page rendering for a project's owner."""

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from tests.dashboard.conftest import signed_in
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


def test_login_page_renders_a_styled_form(db):
    response = Client().get("/login/")

    assert response.status_code == 200
    content = response.content.decode()
    assert '<link rel="stylesheet" href="/static/dashboard.css">' in content
    assert 'name="username"' in content
    assert 'name="password"' in content


def test_login_with_the_right_password_opens_the_overview(owner, project):
    client = Client()

    response = client.post("/login/", {"username": "owner@acme.test", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "<h1>Acme</h1>" in home.content.decode()


def test_login_with_a_wrong_password_stays_signed_out(owner):
    client = Client()

    response = client.post("/login/", {"username": "owner@acme.test", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get("/")["Location"] == "/login/?next=/"


def test_logout_is_a_post_and_signs_out(owner):
    client = signed_in(owner)

    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/customers/")["Location"] == "/login/?next=/customers/"


@pytest.mark.parametrize("path", ["/", "/customers/", "/settings/", "/api-keys/", "/members/"])
def test_anonymous_visitors_are_sent_to_login(db, path):
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def page_urls(acme):
    return {
        "home": reverse("dashboard:home"),
        "settings": reverse("dashboard:settings"),
        "api keys": reverse("dashboard:api_keys"),
        "api key revoke confirmation": reverse("dashboard:api_key_revoke", args=[acme.api_key.app_id]),
        "members": reverse("dashboard:members"),
        "member remove confirmation": reverse("dashboard:member_remove", args=[acme.marketer_membership.pk]),
        "customers": reverse("customers:list"),
        "customer": reverse("customers:detail", args=[acme.customer.public_id]),
        "customer edit": reverse("customers:edit", args=[acme.customer.public_id]),
    }


@pytest.mark.parametrize(
    ("page", "heading"),
    [
        ("home", "<h1>Acme</h1>"),
        ("settings", "<h1>Project settings</h1>"),
        ("api keys", "<h1>API keys</h1>"),
        ("api key revoke confirmation", "<h2>Revoke “Shop backend”?</h2>"),
        ("members", "<h1>Members</h1>"),
        ("member remove confirmation", "<h2>Remove marketer@acme.test?</h2>"),
        ("customers", "<h1>Customers</h1>"),
        ("customer", "<h1>Ada Lovelace</h1>"),
        ("customer edit", "<h1>Edit Ada Lovelace</h1>"),
    ],
)
def test_every_page_renders_for_the_owner(acme, owner, page, heading):
    response = signed_in(owner).get(page_urls(acme)[page])

    assert response.status_code == 200
    content = response.content.decode()
    assert heading in content
    assert f'<body hx-headers=\'{{"X-CSRFToken": "{response.context["csrf_token"]}"}}\'>' in content
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in content


def test_the_nav_offers_api_keys_to_owners_and_admins_only(owner, marketer, viewer):
    assert 'href="/api-keys/"' in signed_in(owner).get("/").content.decode()
    assert 'href="/api-keys/"' not in signed_in(marketer).get("/").content.decode()
    assert 'href="/api-keys/"' not in signed_in(viewer).get("/").content.decode()


def test_the_overview_counts_the_projects_rows(acme, owner, viewer):
    response = signed_in(owner).get("/")

    assert response.context["customer_count"] == 1
    assert response.context["active_api_key_count"] == 1
    assert response.context["member_count"] == 3  # owner, marketer, viewer


def test_a_user_without_a_project_gets_a_friendly_page(db):
    loner = UserFactory(username="loner@example.com")
    client = signed_in(loner)

    home = client.get("/")
    customers = client.get("/customers/")

    assert home.status_code == 200
    assert "You're not in a project yet" in home.content.decode()
    assert customers.status_code == 200
    assert "You're not in a project yet" in customers.content.decode()


def test_a_missing_page_is_a_styled_404(owner):
    response = signed_in(owner).get("/no-such-page/")

    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()


def test_a_user_without_a_project_cannot_write_anywhere(db):
    loner = UserFactory(username="loner@example.com")

    response = signed_in(loner).post(reverse("dashboard:api_key_create"), {"name": "Key"})

    assert response.status_code == 403
    assert "You're not in a project yet" in response.content.decode()


def test_the_server_error_page_renders_without_a_request(db):
    html = render_to_string("500.html")

    assert "<h1>Something went wrong on our side</h1>" in html

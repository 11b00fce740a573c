"""The customer cockpit `/c/<signed token>`: one customer's codes with QR, loyalty balance and tier,
and channel preferences changed with a POST carrying a CSRF token; a tampered token is a 404."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from campaigns.publications import publication_create
from messaging.cockpit import cockpit_token_for, cockpit_token_read, cockpit_url, cockpit_url_of
from messaging.consent import unsubscribed_customer_ids
from messaging.models import CustomerConsent
from tests.campaigns.factories import make_campaign
from tests.campaigns.loyalty.support import join, make_program
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada_and_bob(project):
    campaign = make_campaign(project, name="Summer", codes_count=4)
    ada, bob = CustomerFactory(project=project, name="Ada"), CustomerFactory(project=project, name="Bob")
    ada_codes = [
        p.voucher.code
        for p in publication_create(project=project, customer=ada, campaign=campaign).publications
    ]
    bob_codes = [
        p.voucher.code
        for p in publication_create(project=project, customer=bob, campaign=campaign).publications
    ]
    return ada, bob, ada_codes, bob_codes


def page(project, customer) -> str:
    return "/c/" + cockpit_token_for(project, customer)


def test_the_cockpit_shows_only_that_customers_codes_with_qr(project, ada_and_bob):
    ada, _bob, ada_codes, bob_codes = ada_and_bob
    response = Client().get(page(project, ada))
    assert response.status_code == 200
    html = response.content.decode()
    shown = re.findall(r'data-code="([^"]+)"', html)
    assert shown == ada_codes
    assert not set(bob_codes) & set(re.findall(r"<code>([^<]+)</code>", html))
    [qr_url] = re.findall(r'<img src="([^"]+)"', html)
    qr = Client().get(qr_url)
    assert qr.status_code == 200 and qr["Content-Type"] == "image/png"


def test_the_cockpit_shows_loyalty_balance_and_tier(project):
    program = make_program(project, name="Club", tiers=[("Silver", 0, 999), ("Gold", 1000, None)])
    card = join(project, program, name="Cy")
    html = Client().get(page(project, card.customer)).content.decode()
    assert "Club" in html
    assert re.search(rf'id="loyalty-{program.public_id}"><strong>0</strong> points', html)
    assert "tier Silver" in html


def test_preferences_change_with_a_post_carrying_the_csrf_token(project):
    customer = CustomerFactory(project=project)
    client = Client(enforce_csrf_checks=True)
    url = page(project, customer)
    # Without the token from the page: refused.
    assert client.post(url, {"channel_sms": "on"}).status_code == 403
    assert not CustomerConsent.objects.for_project(project).exists()

    html = client.get(url).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert 'name="channel_email" checked' in html
    # Email unticked, every other channel ticked.
    ticked = {f"channel_{c}": "on" for c in re.findall(r'name="channel_([a-z]+)"', html) if c != "email"}
    response = client.post(url, {"csrfmiddlewaretoken": csrf, **ticked})
    assert response.status_code == 302
    assert unsubscribed_customer_ids(project=project, channel="email", customer_ids=[customer.pk]) == {
        customer.pk
    }
    consent = CustomerConsent.objects.for_project(project).get()
    assert (consent.channel, consent.source) == ("email", "cockpit")
    assert "Your preferences are saved" in client.get(response["Location"]).content.decode()


def test_a_tampered_token_is_404(project, ada_and_bob):
    ada, bob, *_ = ada_and_bob
    token = cockpit_token_for(project, ada)
    assert cockpit_token_read(token) == {"p": project.pk, "c": ada.pk}
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert Client().get(f"/c/{forged}").status_code == 404
    assert Client().post(f"/c/{forged}", {}).status_code in (403, 404)
    assert Client().get("/c/nothing").status_code == 404
    assert cockpit_url(project, ada).endswith(f"/c/{token}")
    assert cockpit_url_of(ada) == cockpit_url(project, ada)


def test_a_token_does_not_reach_another_projects_customer(project, other_project):
    theirs = CustomerFactory(project=other_project)
    # A token naming our project and their customer (as if ours were forged to point at theirs).
    from django.core import signing

    from messaging.cockpit import COCKPIT_SALT

    token = signing.Signer(salt=COCKPIT_SALT).sign_object({"p": project.pk, "c": theirs.pk}, compress=True)
    assert Client().get(f"/c/{token}").status_code == 404

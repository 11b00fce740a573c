"""API keys: created with a token revealed exactly once, listed by hint, revoked after confirmation."""

from django.urls import reverse
from django.utils import timezone

from tenancy.models import ApiKey
from tests.dashboard.conftest import project_state, signed_in


def test_creating_a_key_reveals_its_token_once(project, owner):
    client = signed_in(owner)

    created = client.post(reverse("dashboard:api_key_create"), {"name": "Shop backend"})

    assert created.status_code == 200
    token = created.context["created_token"]
    api_key = project.api_keys.get()
    assert api_key.name == "Shop backend"
    assert api_key.matches(token)
    assert token not in (api_key.token_hash, api_key.token_hint)
    assert f'<code class="secret" id="new-token">{token}</code>' in created.content.decode()
    assert "no-store" in created["Cache-Control"]

    # When the page is opened again, then only the hint is left.
    listed = client.get(reverse("dashboard:api_keys")).content.decode()
    assert token not in listed
    assert f"<code>••••{token[-4:]}</code>" in listed
    assert f'<code class="cell-sub">{api_key.app_id}</code>' in listed


def test_the_new_key_authenticates_against_the_api(project, owner):
    created = signed_in(owner).post(reverse("dashboard:api_key_create"), {"name": "Shop backend"})
    api_key = created.context["created_key"]

    response = signed_in(owner).get(
        "/v1/customers", HTTP_X_APP_ID=api_key.app_id, HTTP_X_APP_TOKEN=created.context["created_token"]
    )

    assert response.status_code == 200


def test_a_key_needs_a_name(project, owner):
    before = project_state(project)

    response = signed_in(owner).post(reverse("dashboard:api_key_create"), {"name": "  "})

    assert response.status_code == 200
    assert '<li><a href="#id_name">Name</a>: This field is required.</li>' in response.content.decode()
    assert project_state(project) == before


def test_the_list_shows_each_keys_details(acme, owner):
    used_at = timezone.now()
    ApiKey.objects.filter(pk=acme.api_key.pk).update(last_used_at=used_at)

    response = signed_in(owner).get(reverse("dashboard:api_keys"))

    assert [key.app_id for key in response.context["api_keys"]] == [acme.api_key.app_id]
    content = response.content.decode()
    assert (
        f'<td><strong>Shop backend</strong><code class="cell-sub">{acme.api_key.app_id}</code></td>'
        in content
    )
    assert '<span class="badge badge-success">Active</span>' in content
    assert used_at.strftime("%b %-d, %Y %H:%M") in content


def test_revoking_asks_for_confirmation_first(acme, owner):
    response = signed_in(owner).get(reverse("dashboard:api_key_revoke", args=[acme.api_key.app_id]))

    assert response.status_code == 200
    assert "This can't be undone." in response.content.decode()
    acme.api_key.refresh_from_db()
    assert acme.api_key.revoked_at is None


def test_revoking_a_key_stops_it_working(acme, owner):
    client = signed_in(owner)
    created = client.post(reverse("dashboard:api_key_create"), {"name": "Temporary"})
    api_key, token = created.context["created_key"], created.context["created_token"]

    response = client.post(reverse("dashboard:api_key_revoke", args=[api_key.app_id]))

    assert response.status_code == 302
    assert response["Location"] == "/api-keys/"
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    acme.api_key.refresh_from_db()
    assert acme.api_key.revoked_at is None  # only the one revoked
    api = client.get("/v1/customers", HTTP_X_APP_ID=api_key.app_id, HTTP_X_APP_TOKEN=token)
    assert api.status_code == 401
    listed = client.get(reverse("dashboard:api_keys")).content.decode()
    assert '">Revoked</span>' in listed


def test_revoking_twice_keeps_the_first_time(acme, owner):
    client = signed_in(owner)
    client.post(reverse("dashboard:api_key_revoke", args=[acme.api_key.app_id]))
    acme.api_key.refresh_from_db()
    first = acme.api_key.revoked_at

    response = client.post(reverse("dashboard:api_key_revoke", args=[acme.api_key.app_id]), follow=True)

    acme.api_key.refresh_from_db()
    assert acme.api_key.revoked_at == first
    assert "was already revoked" in response.content.decode()


def test_an_unknown_key_is_404(project, owner):
    response = signed_in(owner).post(reverse("dashboard:api_key_revoke", args=["no-such-app-id"]))

    assert response.status_code == 404

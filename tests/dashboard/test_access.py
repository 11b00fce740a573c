"""Who may do what: a read-only role gets 403 on writes; another project's objects are 404s.
For every denied request, nothing in the project changes."""

import pytest
from django.urls import reverse

from tenancy.models import Role
from tests.dashboard.conftest import project_state, signed_in
from tests.factories import CustomerFactory, MembershipFactory, UserFactory, make_api_key

# Every dashboard write: (name, url for the acme fixture, POST data that would change something).
WRITES = {
    "update settings": (
        lambda acme: reverse("dashboard:settings_update"),
        {"name": "Hijacked", "timezone": "Europe/Paris", "company_name": "X", "company_address": "Y"},
    ),
    "create API key": (lambda acme: reverse("dashboard:api_key_create"), {"name": "Sneaky key"}),
    "revoke API key": (lambda acme: reverse("dashboard:api_key_revoke", args=[acme.api_key.app_id]), {}),
    "add member": (
        lambda acme: reverse("dashboard:member_add"),
        {"email": "friend@evil.test", "role": "admin"},
    ),
    "change role": (
        lambda acme: reverse("dashboard:member_set_role", args=[acme.marketer_membership.pk]),
        {"role": "owner"},
    ),
    "remove member": (
        lambda acme: reverse("dashboard:member_remove", args=[acme.marketer_membership.pk]),
        {},
    ),
    "edit customer": (
        lambda acme: reverse("customers:edit", args=[acme.customer.public_id]),
        {"name": "Changed", "email": "changed@example.com", "metadata": "{}"},
    ),
}
MANAGER_ONLY = [name for name in WRITES if name != "edit customer"]


@pytest.mark.parametrize("write", list(WRITES))
def test_a_viewer_gets_403_on_every_write_and_nothing_changes(acme, viewer, write):
    url, data = WRITES[write]
    before = project_state(acme.project)

    response = signed_in(viewer).post(url(acme), data)

    assert response.status_code == 403
    assert project_state(acme.project) == before


@pytest.mark.parametrize("write", MANAGER_ONLY)
def test_a_marketer_gets_403_on_project_management_and_nothing_changes(acme, marketer, write):
    url, data = WRITES[write]
    before = project_state(acme.project)

    response = signed_in(marketer).post(url(acme), data)

    assert response.status_code == 403
    assert project_state(acme.project) == before


def test_a_viewer_gets_403_on_the_customer_edit_form_too(acme, viewer):
    response = signed_in(viewer).get(reverse("customers:edit", args=[acme.customer.public_id]))

    assert response.status_code == 403
    assert "Your role in this project is read-only." in response.content.decode()


def test_a_viewer_sees_settings_and_members_read_only(acme, viewer):
    client = signed_in(viewer)

    settings_page = client.get(reverse("dashboard:settings")).content.decode()
    members_page = client.get(reverse("dashboard:members")).content.decode()

    assert "Only owners and admins can change these settings." in settings_page
    assert 'action="/settings/update/"' not in settings_page
    assert 'action="/members/add/"' not in members_page
    assert "/role/" not in members_page
    assert "/remove/" not in members_page


def test_a_viewer_gets_403_on_the_api_keys_page(acme, viewer):
    response = signed_in(viewer).get(reverse("dashboard:api_keys"))

    assert response.status_code == 403
    assert acme.api_key.app_id not in response.content.decode()


# Another project's people and objects -------------------------------------------------------------


def test_an_outsider_gets_404_for_our_customer_page(acme, outsider):
    response = signed_in(outsider).get(reverse("customers:detail", args=[acme.customer.public_id]))

    assert response.status_code == 404
    assert "Ada Lovelace" not in response.content.decode()


def test_an_outsider_gets_404_for_our_customer_by_source_id(acme, outsider):
    response = signed_in(outsider).get(reverse("customers:detail", args=[acme.customer.source_id]))

    assert response.status_code == 404


@pytest.mark.parametrize("write", ["revoke API key", "change role", "remove member", "edit customer"])
def test_an_outsider_gets_404_writing_to_our_objects_and_nothing_changes(acme, outsider, write):
    # The outsider owns their own project, so the role check passes: only the project scope stops them.
    url, data = WRITES[write]
    before = project_state(acme.project)

    response = signed_in(outsider).post(url(acme), data)

    assert response.status_code == 404
    assert project_state(acme.project) == before


def test_our_customer_page_does_not_show_another_projects_customer(acme, owner, other_project):
    theirs = CustomerFactory(project=other_project, name="Rival Customer")

    response = signed_in(owner).get(reverse("customers:detail", args=[theirs.public_id]))

    assert response.status_code == 404


def test_a_key_or_member_of_another_project_is_404_for_our_owner(acme, owner, other_project, outsider):
    their_key, _ = make_api_key(other_project, name="Rival key")
    their_membership = other_project.memberships.get(user=outsider)
    client = signed_in(owner)
    before = project_state(other_project)

    revoke = client.post(reverse("dashboard:api_key_revoke", args=[their_key.app_id]))
    demote = client.post(reverse("dashboard:member_set_role", args=[their_membership.pk]), {"role": "viewer"})
    remove = client.post(reverse("dashboard:member_remove", args=[their_membership.pk]))

    assert (revoke.status_code, demote.status_code, remove.status_code) == (404, 404, 404)
    assert project_state(other_project) == before


# Switching projects -------------------------------------------------------------------------------


def test_a_member_of_two_projects_switches_between_them(project, other_project, owner):
    MembershipFactory(project=other_project, user=owner, role=Role.VIEWER)
    client = signed_in(owner)
    assert client.get("/").context["current_project"] == project

    response = client.post(reverse("dashboard:project_switch"), {"project": other_project.public_id})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").context["current_project"] == other_project
    assert client.session["project_id"] == other_project.pk


def test_the_switcher_lists_only_the_users_projects(project, other_project, owner):
    content = signed_in(owner).get("/").content.decode()

    assert f'value="{project.public_id}"' in content
    assert f'value="{other_project.public_id}"' not in content


def test_an_outsider_cannot_switch_to_our_project(project, outsider, other_project):
    client = signed_in(outsider)
    client.get("/")
    assert client.session["project_id"] == other_project.pk

    response = client.post(reverse("dashboard:project_switch"), {"project": project.public_id})

    assert response.status_code == 404
    assert client.session["project_id"] == other_project.pk
    assert client.get("/").context["current_project"] == other_project


def test_switching_is_a_post(project, owner):
    response = signed_in(owner).get(reverse("dashboard:project_switch"), {"project": project.public_id})

    assert response.status_code == 405


def test_a_project_member_with_another_role_is_still_scoped(project, other_project):
    # A viewer here and an owner there: their owner powers do not reach into this project.
    both = UserFactory(username="both@example.com")
    MembershipFactory(project=project, user=both, role=Role.VIEWER)
    MembershipFactory(project=other_project, user=both, role=Role.OWNER)
    client = signed_in(both)
    client.post(reverse("dashboard:project_switch"), {"project": project.public_id})
    before = project_state(project)

    response = client.post(reverse("dashboard:api_key_create"), {"name": "Sneaky key"})

    assert response.status_code == 403
    assert project_state(project) == before

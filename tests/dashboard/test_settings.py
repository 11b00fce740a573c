"""Project settings: name, time zone and brand details, editable by owners and admins."""

import pytest
from django.urls import reverse

from tenancy.models import Project, Role
from tests.dashboard.conftest import project_state, signed_in
from tests.factories import MembershipFactory, UserFactory

VALID = {
    "name": "Acme Shop",
    "timezone": "Europe/Berlin",
    "company_name": "Acme GmbH",
    "company_address": "Hauptstraße 1\n10115 Berlin",
}


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owners_and_admins_save_settings(project, role):
    user = MembershipFactory(project=project, user=UserFactory(username="manager@acme.test"), role=role).user

    response = signed_in(user).post(reverse("dashboard:settings_update"), VALID)

    assert response.status_code == 302
    assert response["Location"] == "/settings/"
    saved = Project.objects.values("name", "timezone", "company_name", "company_address").get(pk=project.pk)
    assert saved == VALID


def test_the_settings_page_shows_times_in_the_projects_time_zone(project, owner):
    signed_in(owner).post(reverse("dashboard:settings_update"), VALID)

    response = signed_in(owner).get(reverse("dashboard:settings"))

    assert response.status_code == 200
    assert '<option value="Europe/Berlin" selected>Europe/Berlin</option>' in response.content.decode()


def test_an_unknown_time_zone_is_refused_naming_the_field(project, owner):
    before = project_state(project)

    response = signed_in(owner).post(
        reverse("dashboard:settings_update"), {**VALID, "timezone": "Mars/Olympus"}
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert (
        '<li><a href="#id_timezone">Timezone</a>: Select a valid choice. Mars/Olympus is not one of the '
        "available choices.</li>"
    ) in content
    assert project_state(project) == before


def test_a_blank_name_is_refused_naming_the_field(project, owner):
    before = project_state(project)

    response = signed_in(owner).post(reverse("dashboard:settings_update"), {**VALID, "name": ""})

    assert response.status_code == 200
    assert (
        '<p class="error" id="id_name_error">Name: This field is required.</p>' in response.content.decode()
    )
    assert project_state(project) == before

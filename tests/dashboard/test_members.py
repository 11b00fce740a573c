"""Members and roles: owners and admins add, re-role and remove; a project always keeps an owner."""

from django.contrib.auth import get_user_model
from django.urls import reverse

from tenancy.models import Role
from tests.dashboard.conftest import project_state, signed_in
from tests.factories import MembershipFactory, UserFactory


def roles(project) -> dict[str, str]:
    return dict(project.memberships.values_list("user__username", "role"))


def test_the_members_page_lists_everyone_with_their_role(project, owner, marketer, viewer):
    response = signed_in(viewer).get(reverse("dashboard:members"))

    assert [(m.user.username, m.role) for m, _ in response.context["rows"]] == [
        ("marketer@acme.test", "marketer"),
        ("owner@acme.test", "owner"),
        ("viewer@acme.test", "viewer"),
    ]


def test_an_owner_adds_a_new_person_by_email(project, owner):
    response = signed_in(owner).post(
        reverse("dashboard:member_add"), {"email": "new@acme.test", "role": "viewer"}
    )

    assert response.status_code == 302
    assert roles(project) == {"owner@acme.test": "owner", "new@acme.test": "viewer"}
    assert not get_user_model().objects.get(username="new@acme.test").has_usable_password()


def test_an_owner_adds_an_existing_user(project, owner, outsider):
    signed_in(owner).post(reverse("dashboard:member_add"), {"email": "owner@rival.test", "role": "marketer"})

    assert roles(project) == {"owner@acme.test": "owner", "owner@rival.test": "marketer"}


def test_adding_someone_twice_is_refused_naming_the_field(project, owner, marketer):
    before = project_state(project)

    response = signed_in(owner).post(
        reverse("dashboard:member_add"), {"email": "marketer@acme.test", "role": "admin"}
    )

    assert response.status_code == 200
    assert (
        '<li><a href="#id_email">Email</a>: marketer@acme.test is already a member of this project.</li>'
        in response.content.decode()
    )
    assert project_state(project) == before


def test_a_bad_email_is_refused_naming_the_field(project, owner):
    before = project_state(project)

    response = signed_in(owner).post(
        reverse("dashboard:member_add"), {"email": "not-an-email", "role": "viewer"}
    )

    assert '<li><a href="#id_email">Email</a>: Enter a valid email address.</li>' in response.content.decode()
    assert project_state(project) == before


def test_an_owner_changes_a_role(project, owner, marketer):
    membership = project.memberships.get(user=marketer)

    response = signed_in(owner).post(
        reverse("dashboard:member_set_role", args=[membership.pk]), {"role": "admin"}
    )

    assert response.status_code == 302
    assert roles(project) == {"owner@acme.test": "owner", "marketer@acme.test": "admin"}


def test_an_owner_removes_a_member_after_confirming(project, owner, marketer):
    membership = project.memberships.get(user=marketer)
    client = signed_in(owner)

    confirmation = client.get(reverse("dashboard:member_remove", args=[membership.pk]))
    assert confirmation.status_code == 200
    assert roles(project) == {"owner@acme.test": "owner", "marketer@acme.test": "marketer"}

    response = client.post(reverse("dashboard:member_remove", args=[membership.pk]))

    assert response.status_code == 302
    assert roles(project) == {"owner@acme.test": "owner"}


def test_the_last_owner_cannot_be_demoted(project, owner, marketer):
    membership = project.memberships.get(user=owner)
    before = project_state(project)

    response = signed_in(owner).post(
        reverse("dashboard:member_set_role", args=[membership.pk]), {"role": "admin"}, follow=True
    )

    assert response.status_code == 200
    assert (
        '<div class="alert alert-error" role="alert">owner@acme.test is the last owner: '
        "make someone else an owner first.</div>"
    ) in response.content.decode()
    assert project_state(project) == before


def test_the_last_owner_cannot_be_removed(project, owner, marketer):
    membership = project.memberships.get(user=owner)
    before = project_state(project)

    response = signed_in(owner).post(reverse("dashboard:member_remove", args=[membership.pk]), follow=True)

    assert response.status_code == 200
    assert (
        '<div class="alert alert-error" role="alert">'
        "owner@acme.test is the last owner and can&#x27;t be removed.</div>"
    ) in response.content.decode()
    assert project_state(project) == before


def test_with_a_second_owner_an_owner_can_step_down(project, owner):
    MembershipFactory(project=project, user=UserFactory(username="second@acme.test"), role=Role.OWNER)
    membership = project.memberships.get(user=owner)

    signed_in(owner).post(reverse("dashboard:member_set_role", args=[membership.pk]), {"role": "admin"})

    assert roles(project) == {"owner@acme.test": "admin", "second@acme.test": "owner"}


def test_an_admin_cannot_touch_owners(project, owner, marketer):
    admin = MembershipFactory(
        project=project, user=UserFactory(username="admin@acme.test"), role=Role.ADMIN
    ).user
    owner_membership = project.memberships.get(user=owner)
    marketer_membership = project.memberships.get(user=marketer)
    client = signed_in(admin)
    before = project_state(project)

    demote = client.post(reverse("dashboard:member_set_role", args=[owner_membership.pk]), {"role": "viewer"})
    promote = client.post(
        reverse("dashboard:member_set_role", args=[marketer_membership.pk]), {"role": "owner"}
    )
    remove = client.post(reverse("dashboard:member_remove", args=[owner_membership.pk]))
    add = client.post(reverse("dashboard:member_add"), {"email": "crony@acme.test", "role": "owner"})

    assert (demote.status_code, promote.status_code, remove.status_code) == (403, 403, 403)
    assert add.status_code == 200
    assert (
        '<li><a href="#id_role">Role</a>: '
        "Select a valid choice. owner is not one of the available choices.</li>" in add.content.decode()
    )
    assert project_state(project) == before


def test_an_admin_manages_non_owners(project, owner, marketer):
    admin = MembershipFactory(
        project=project, user=UserFactory(username="admin@acme.test"), role=Role.ADMIN
    ).user
    marketer_membership = project.memberships.get(user=marketer)

    signed_in(admin).post(
        reverse("dashboard:member_set_role", args=[marketer_membership.pk]), {"role": "viewer"}
    )

    assert roles(project) == {
        "owner@acme.test": "owner",
        "admin@acme.test": "admin",
        "marketer@acme.test": "viewer",
    }


def test_an_unknown_role_is_refused(project, owner, marketer):
    membership = project.memberships.get(user=marketer)
    before = project_state(project)

    response = signed_in(owner).post(
        reverse("dashboard:member_set_role", args=[membership.pk]), {"role": "emperor"}, follow=True
    )

    assert (
        "Role: Select a valid choice. emperor is not one of the available choices."
        in response.content.decode()
    )
    assert project_state(project) == before


def test_choosing_the_same_role_changes_nothing(project, owner, marketer):
    membership = project.memberships.get(user=marketer)
    before = project_state(project)

    response = signed_in(owner).post(
        reverse("dashboard:member_set_role", args=[membership.pk]), {"role": "marketer"}, follow=True
    )

    assert "marketer@acme.test already is marketer." in response.content.decode()
    assert project_state(project) == before

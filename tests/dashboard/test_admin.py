"""Django admin for operators: superusers only; API key tokens stay hashed and read-only."""

import pytest
from django.test import Client

from tests.dashboard.conftest import signed_in
from tests.factories import CustomerFactory, UserFactory, make_api_key

CHANGELISTS = [
    "/admin/tenancy/project/",
    "/admin/tenancy/membership/",
    "/admin/tenancy/apikey/",
    "/admin/customers/customer/",
    "/admin/eventbus/domainevent/",
    "/admin/eventbus/handlerrun/",
]


@pytest.fixture
def superuser(db):
    return UserFactory(username="operator@example.com", is_staff=True, is_superuser=True)


@pytest.mark.parametrize("path", CHANGELISTS)
def test_a_superuser_opens_every_changelist(acme, superuser, path):
    response = signed_in(superuser).get(path)

    assert response.status_code == 200


def test_a_project_member_cannot_open_the_admin(acme, owner):
    response = signed_in(owner).get("/admin/tenancy/apikey/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/tenancy/apikey/"


def test_an_api_keys_token_hash_is_read_only(project, superuser):
    api_key, _ = make_api_key(project)

    response = signed_in(superuser).get(f"/admin/tenancy/apikey/{api_key.pk}/change/")

    content = response.content.decode()
    assert response.status_code == 200
    assert api_key.token_hash in content
    assert 'name="token_hash"' not in content
    assert 'name="name"' in content


def test_keys_are_not_added_in_the_admin(superuser):
    response = signed_in(superuser).get("/admin/tenancy/apikey/add/")

    assert response.status_code == 403


def test_the_customer_admin_finds_a_customer_by_public_id(project, other_project, superuser):
    ours = CustomerFactory(project=project, name="Ada")
    CustomerFactory(project=other_project, name="Rival")

    response = signed_in(superuser).get("/admin/customers/customer/", {"q": ours.public_id})

    assert [customer.pk for customer in response.context["cl"].result_list] == [ours.pk]


def test_anonymous_visitors_get_the_admin_login(db):
    response = Client().get("/admin/")

    assert response.status_code == 302

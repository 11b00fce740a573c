"""Shared fixtures: two projects (ours and an outsider's), API clients keyed to each, and the
owner / member / outsider trio for the dashboard."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenancy.models import Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, make_api_key


@pytest.fixture
def project(db):
    return ProjectFactory(name="Acme", slug="acme")


@pytest.fixture
def other_project(db):
    return ProjectFactory(name="Rival", slug="rival")


def api_client_for(project) -> APIClient:
    api_key, token = make_api_key(project)
    client = APIClient()
    client.credentials(HTTP_X_APP_ID=api_key.app_id, HTTP_X_APP_TOKEN=token)
    client.api_key = api_key
    client.project = project
    return client


@pytest.fixture
def api(project) -> APIClient:
    """An API client with our project's keys."""
    return api_client_for(project)


@pytest.fixture
def outsider_api(other_project) -> APIClient:
    """An API client with another project's keys."""
    return api_client_for(other_project)


@pytest.fixture
def owner(project):
    return MembershipFactory(
        project=project, user=UserFactory(username="owner@acme.test"), role=Role.OWNER
    ).user


@pytest.fixture
def marketer(project):
    return MembershipFactory(
        project=project, user=UserFactory(username="marketer@acme.test"), role=Role.MARKETER
    ).user


@pytest.fixture
def viewer(project):
    return MembershipFactory(
        project=project, user=UserFactory(username="viewer@acme.test"), role=Role.VIEWER
    ).user


@pytest.fixture
def outsider(other_project):
    return MembershipFactory(
        project=other_project, user=UserFactory(username="owner@rival.test"), role=Role.OWNER
    ).user


@pytest.fixture(autouse=True)
def _clean_redis_keys():
    """Rate-limit windows and heartbeats live under this run's key prefix; clear them between tests."""
    yield
    from tenancy.redis import get_redis, redis_key

    client = get_redis()
    # Celery's own keys (queue bindings) stay: a producer in this process would not declare them again.
    celery_prefix = redis_key("celery:")
    keys = [
        key
        for key in client.scan_iter(match=redis_key("*"), count=1000)
        if not key.decode().startswith(celery_prefix)
    ]
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _close_delivery_writer_threads():
    """Delivery's writer threads keep their connection across batches; an idle connection to the test
    database would block its DROP at the end of the run, so none outlives the test that opened it."""
    yield
    from messaging.outcome_writer import close_writer_threads

    close_writer_threads()

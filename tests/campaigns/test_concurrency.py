"""32 clients publishing from one campaign of 1,000 codes at once, through real HTTP and real
PostgreSQL connections: every code goes to exactly one customer, and everyone else is told the
campaign is exhausted."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from campaigns.models import Publication
from eventbus.models import DomainEvent
from tests.campaigns.factories import make_campaign
from tests.factories import make_api_key

CLIENTS = 32
CODES = 1_000
REQUESTS_PER_CLIENT = 34  # 1,088 requests for 1,000 codes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_32_concurrent_clients_publish_each_code_exactly_once(live_server, project):
    project.api_requests_per_minute = 100_000
    project.save(update_fields=["api_requests_per_minute"])
    make_campaign(project, name="Flash sale", codes_count=CODES)
    api_key, token = make_api_key(project)
    headers = {"X-App-Id": api_key.app_id, "X-App-Token": token}
    start = threading.Barrier(CLIENTS)

    def publish(session: requests.Session, number: int, attempt: int) -> requests.Response:
        # A loaded machine can reset a connection mid-request; the client retries as real ones do, and
        # the request's source_id makes the retry return the same publication instead of a second one.
        for retry in range(3):
            try:
                return session.post(
                    f"{live_server.url}/v1/publications",
                    json={
                        "source_id": f"publish-{number}-{attempt}",
                        "customer": {"source_id": f"c{number}-{attempt}"},
                        "campaign": {"name": "Flash sale"},
                    },
                    headers=headers,
                    timeout=60,
                )
            except requests.ConnectionError:
                if retry == 2:
                    raise
        raise AssertionError("unreachable")

    def client(number: int) -> list[tuple[int, str]]:
        outcomes = []
        with requests.Session() as session:
            start.wait()
            for attempt in range(REQUESTS_PER_CLIENT):
                response = publish(session, number, attempt)
                body = response.json()
                outcomes.append(
                    (response.status_code, body["voucher"]["code"] if response.ok else body["key"])
                )
        return outcomes

    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = [outcome for result in pool.map(client, range(CLIENTS)) for outcome in result]

    codes = [detail for status, detail in outcomes if status == 200]
    refusals = Counter((status, detail) for status, detail in outcomes if status != 200)
    assert len(codes) == CODES
    assert len(set(codes)) == CODES
    assert refusals == {(400, "no_voucher_suitable_for_publication"): CLIENTS * REQUESTS_PER_CLIENT - CODES}
    holders = Publication.objects.for_project(project).values_list("voucher_id", flat=True)
    assert len(holders) == CODES and len(set(holders)) == CODES
    assert (
        DomainEvent.objects.for_project(project).filter(type="customer.publication.succeeded").count()
        == CODES
    )


def test_concurrent_requests_with_the_same_source_id_make_one_publication(live_server, project):
    make_campaign(project, name="Flash sale", codes_count=50)
    api_key, token = make_api_key(project)
    headers = {"X-App-Id": api_key.app_id, "X-App-Token": token}
    clients = 8
    start = threading.Barrier(clients)

    def client(number: int) -> tuple[int, str, list[str]]:
        start.wait()
        response = requests.post(
            f"{live_server.url}/v1/publications",
            json={
                "customer": {"source_id": "same-customer"},
                "campaign": {"name": "Flash sale", "count": 2},
                "source_id": "order-42",
            },
            headers=headers,
            timeout=60,
        )
        body = response.json()
        return response.status_code, body.get("id"), body.get("vouchers")

    with ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(client, range(clients)))

    assert {status for status, _, _ in outcomes} == {200}
    assert len({publication_id for _, publication_id, _ in outcomes}) == 1
    assert len({tuple(codes) for _, _, codes in outcomes}) == 1
    assert Publication.objects.for_project(project).count() == 2
    assert DomainEvent.objects.for_project(project).filter(type="customer.publication.succeeded").count() == 2

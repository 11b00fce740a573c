"""The SSRF guard: only http(s) to public addresses, judged on what the host resolves to."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.support.messaging import rows_unchanged
from webhooks_out.guard import TargetRefused, resolve_target
from webhooks_out.models import WebhookEndpoint
from webhooks_out.services import webhook_endpoint_create


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",  # a name that resolves to loopback
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.5/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata, link-local
        "http://100.64.0.1/hook",  # shared address space
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(url):
    with pytest.raises(TargetRefused, match="which webhooks may not reach"):
        resolve_target(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "Only http and https"),
        ("file:///etc/passwd", "Only http and https"),
        ("javascript:alert(1)", "Only http and https"),
        ("http:///nohost", "no host"),
        ("https://user:pass@example.com/", "user name or password"),
        ("http://example.com:99999/", "not valid"),
    ],
)
def test_urls_that_are_not_plain_http_or_https_are_refused(url, reason):
    with pytest.raises(TargetRefused, match=reason):
        resolve_target(url, allow_private=True)


def test_a_public_address_is_allowed_and_connected_to_as_checked():
    target = resolve_target("https://93.184.216.34:8443/hooks?x=1", allow_private=False)

    assert (target.scheme, target.address, target.port, target.path) == (
        "https",
        "93.184.216.34",
        8443,
        "/hooks?x=1",
    )
    assert target.host_header == "93.184.216.34:8443"


def test_the_project_setting_lets_private_targets_through():
    target = resolve_target("http://localhost:8000/hook", allow_private=True)

    assert target.address in ("127.0.0.1", "::1")
    assert target.host_header == "localhost:8000"


def test_an_endpoint_with_a_forbidden_url_is_not_saved(project):
    with rows_unchanged(WebhookEndpoint.objects.unscoped()):
        with pytest.raises(ValidationError) as caught:
            webhook_endpoint_create(project=project, url="http://169.254.169.254/")

    assert list(caught.value.message_dict) == ["url"]
    assert "link-local" in caught.value.message_dict["url"][0]

"""The transport against real sockets: the checked address is the one connected to, and TLS
errors are failures to retry, not crashes."""

from __future__ import annotations

from webhooks_out import transport
from webhooks_out.guard import resolve_target


def test_a_post_goes_to_the_checked_address_with_the_host_name_in_the_host_header(receiver):
    port = receiver.server.server_address[1]
    target = resolve_target(f"http://localhost:{port}/hooks?x=1", allow_private=True)

    response = transport.post(target, b'{"a":1}', {"Content-Type": "application/json"}, timeout=5)

    assert response.is_success and response.status == 200
    [request] = receiver.requests
    assert (request.path, request.headers["host"], request.body) == (
        "/hooks?x=1",
        f"localhost:{port}",
        b'{"a":1}',
    )


def test_a_tls_failure_is_an_answerless_failure(receiver):
    port = receiver.server.server_address[1]
    target = resolve_target(f"https://localhost:{port}/hooks", allow_private=True)

    response = transport.post(target, b"{}", {}, timeout=5)

    assert response.status is None
    assert response.error.startswith("Connection failed: SSLError")

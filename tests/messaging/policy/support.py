"""Helpers for the delivery policy tests."""

from __future__ import annotations


def delivered_to(receiver) -> list[str]:
    """The customer ids (public) the receiver got messages for, in arrival order."""
    return [request.json()["data"]["customer"]["id"] for request in receiver.requests]

"""The channel registry: channel name → its plug-in. Adding a channel is one module and one line."""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from messaging.channels.base import Channel

CHANNEL_CLASSES: dict[str, str] = {
    "webhook": "messaging.channels.webhook.WebhookChannel",
    "sms": "messaging.channels.sms.SmsChannel",
    "mailchimp": "messaging.channels.mailchimp.MailchimpChannel",
    "braze": "messaging.channels.braze.BrazeChannel",
    "email": "messaging.channels.email.EmailChannel",
}


class UnknownChannel(LookupError):
    pass


@cache
def get_channel(name: str) -> Channel:
    try:
        path = CHANNEL_CLASSES[name]
    except KeyError:
        raise UnknownChannel(
            f"Unknown channel {name!r}; known: {', '.join(sorted(CHANNEL_CLASSES))}."
        ) from None
    return import_string(path)()

"""Our emails' MIME form, written in one pass (messaging/email/mime.py), reads exactly like Django's
own: the same headers, parts, charsets and transfer encodings, whatever the content; and what does
not fit the one shape goes through Django, which refuses what it refuses."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from django.core.mail import BadHeaderError, EmailMultiAlternatives

from messaging.email.mime import OneShapeEmail, WrittenMessage

HTML_ONE_LONG_LINE = "<html><body>" + "<p>Spring sale &amp; more</p>" * 60 + "</body></html>"


def email(cls=OneShapeEmail, **changes) -> EmailMultiAlternatives:
    fields = {
        "subject": "Your code, Ada",
        "body": "Hi Ada,\nyour code is SPRING-42.\n.\nFrom the shop\n",
        "from_email": "Bench Shop <offers@shop.example>",
        "to": ["ada@example.com"],
        "reply_to": ["help@shop.example"],
        "headers": {
            "Message-ID": "<msg_123@shop.example>",
            "List-Unsubscribe": "<https://dm.example/u/abc.def>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    html = changes.pop("html", HTML_ONE_LONG_LINE)
    fields.update(changes)
    message = cls(**fields)
    message.attach_alternative(html, "text/html")
    return message


def parsed(message: EmailMultiAlternatives):
    return message_from_bytes(message.message().as_bytes(linesep="\r\n"), policy=policy.default)


def reading(message: EmailMultiAlternatives) -> dict:
    """What a mail client reads of it (Django's encoded subject reads with a leading space)."""
    mime = parsed(message)
    parts = list(mime.iter_parts())
    return {
        "headers": [
            (name, str(mime[name]).strip())
            for name in (
                "Subject",
                "From",
                "To",
                "Reply-To",
                "Message-ID",
                "List-Unsubscribe",
                "List-Unsubscribe-Post",
            )
        ],
        "type": mime.get_content_type(),
        "parts": [
            (
                part.get_content_type(),
                part.get_content_charset(),
                part["Content-Transfer-Encoding"],
                part.get_content(),
            )
            for part in parts
        ],
    }


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"html": "<p>short lines</p>\n<p>only</p>\n"},
        {"subject": "Ihr Gutschein, Jürgen — 10 % Rabatt 🎉", "body": "Grüße aus München\n"},
        {"html": "<p>" + "é" * 600 + "</p>", "body": "x" * 1200},
        {"reply_to": []},
        {"body": "line one\r\nline two\rline three\n=equals= and trailing spaces   \n"},
    ],
    ids=["flier", "short-lines", "unicode-subject", "long-unicode", "no-reply-to", "mixed-line-ends"],
)
def test_the_written_form_reads_as_djangos_own(changes):
    ours, djangos = email(**changes), email(EmailMultiAlternatives, **changes)

    assert isinstance(ours.message(), WrittenMessage)
    assert reading(ours) == reading(djangos)
    assert parsed(ours)["Date"] is not None


def test_the_bytes_sent_have_crlf_line_ends_and_short_lines():
    sent = email().message().as_bytes(linesep="\r\n")

    assert b"\n" not in sent.replace(b"\r\n", b"")
    assert max(len(line) for line in sent.split(b"\r\n")) <= 998
    assert sent.startswith(b"Content-Type: multipart/alternative;")


def test_what_does_not_fit_the_shape_goes_through_django():
    with_cc = email(cc=["boss@example.com"])
    non_ascii_recipient = email(to=["jürgen@example.com"])

    assert not isinstance(with_cc.message(), WrittenMessage)
    assert not isinstance(non_ascii_recipient.message(), WrittenMessage)
    assert reading(non_ascii_recipient) == reading(email(EmailMultiAlternatives, to=["jürgen@example.com"]))


@pytest.mark.parametrize("field", ["subject", "header"])
def test_a_newline_in_a_header_is_refused_as_django_refuses_it(field):
    message = (
        email(subject="Hello\nBcc: everyone@example.com")
        if field == "subject"
        else email(headers={"Message-ID": "<a@b>", "List-Unsubscribe": "<https://x>\nBcc: x@example.com"})
    )

    with pytest.raises(BadHeaderError):
        message.message()

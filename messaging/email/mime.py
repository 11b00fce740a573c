"""Our emails' MIME form, written in one pass.

Django builds an `EmailMultiAlternatives` through the standard library's `email` package, whose
generator folds every header and quoted-printable-encodes every long-lined part in pure Python:
about two thirds of the CPU of sending one of our emails, more than the SMTP exchange. Our emails
have one shape (a text part and an HTML alternative, utf-8, a fixed set of headers), so
`OneShapeEmail.message()` writes that shape directly and hands the backend the same bytes to send;
anything outside the shape (a header that needs encoding or folding other than the subject, an
attachment, a newline in a header) goes through Django's own `message()`, which also raises its
usual errors.

Kept from Django's form: the headers and their order, `Content-Transfer-Encoding` by the same rule
(7bit or 8bit when no line is over 998 bytes, else quoted-printable, through the C encoder of
`binascii`), CRLF line ends when sent. Not kept: folding of headers under 78 characters (RFC 5322
asks lines be at most 998; every header here is one line under 900).
"""

from __future__ import annotations

import binascii
import secrets
from email.header import Header
from email.utils import formatdate

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

LONGEST_LINE = 998  # RFC 5322
LONGEST_HEADER = 900  # one unfolded line, with room for the name


class OneShapeEmail(EmailMultiAlternatives):
    """An email of the channel's one shape: plain text with an HTML alternative."""

    def message(self):
        written = _written(self)
        return written if written is not None else super().message()


class WrittenMessage:
    """What the backends use of a MIME message: its bytes (and text)."""

    def __init__(self, lines: list[bytes]) -> None:
        self._crlf = b"\r\n".join(lines)

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return self._crlf if linesep == "\r\n" else self._crlf.replace(b"\r\n", linesep.encode())

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(linesep=linesep).decode("utf-8", errors="surrogateescape")


def _written(email: OneShapeEmail) -> WrittenMessage | None:
    if (
        email.attachments
        or email.cc
        or email.bcc
        or len(email.alternatives) != 1
        or email.alternatives[0][1] != "text/html"
        or (email.encoding or settings.DEFAULT_CHARSET).lower() not in ("utf-8", "utf8")
    ):
        return None
    subject = email.subject
    if not _plain(subject):
        if "\n" in subject or "\r" in subject:
            return None
        subject = Header(subject, "utf-8").encode(linesep="\r\n")
    headers = [
        ("Subject", subject),
        ("From", email.extra_headers.get("From", email.from_email)),
        ("To", ", ".join(email.to)),
    ]
    if email.reply_to:
        headers.append(("Reply-To", ", ".join(email.reply_to)))
    names = {name.lower() for name in email.extra_headers}
    if "date" not in names:
        headers.append(("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
    if "message-id" not in names:
        return None  # ours always carry one; Django makes one otherwise
    headers.extend(
        (name, value)
        for name, value in email.extra_headers.items()
        if name.lower() not in {"from", "to", "cc", "reply-to"}
    )
    if not all(_plain(value) or name == "Subject" for name, value in headers):
        return None
    text, text_encoding = _part(email.body)
    html, html_encoding = _part(email.alternatives[0][0])
    boundary = f"===============dm{secrets.token_hex(12)}=="
    marker = boundary.encode()
    if marker in text or marker in html:
        return None
    lines = [
        f'Content-Type: multipart/alternative; boundary="{boundary}"'.encode(),
        b"MIME-Version: 1.0",
        *(f"{name}: {value}".encode() for name, value in headers),
        b"",
        b"--" + marker,
        b'Content-Type: text/plain; charset="utf-8"',
        b"MIME-Version: 1.0",
        b"Content-Transfer-Encoding: " + text_encoding,
        b"",
        text,
        b"--" + marker,
        b'Content-Type: text/html; charset="utf-8"',
        b"MIME-Version: 1.0",
        b"Content-Transfer-Encoding: " + html_encoding,
        b"",
        html,
        b"--" + marker + b"--",
        b"",
    ]
    return WrittenMessage(lines)


def _plain(value: str) -> bool:
    """A header value that goes out as it is: ASCII, one line, not too long."""
    return value.isascii() and len(value) <= LONGEST_HEADER and "\n" not in value and "\r" not in value


def _part(content: str) -> tuple[bytes, bytes]:
    """A part's body with CRLF line ends, and its transfer encoding."""
    data = content.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8", errors="surrogateescape")
    if any(len(line) > LONGEST_LINE for line in data.split(b"\n")):
        encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
        return encoded.replace(b"\n", b"\r\n"), b"quoted-printable"
    return data.replace(b"\n", b"\r\n"), b"7bit" if data.isascii() else b"8bit"

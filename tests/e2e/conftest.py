"""Browser tests: Playwright for Python driving Debian's Chromium against pytest-django's live server.

    def test_something(signed_in, live_server):
        page = signed_in(marketer)            # a fresh browser page with `marketer` logged in
        page.goto(live_server.url + "/distributions/")
        screenshot(page, "distributions-list")  # var/artifacts/screenshots/distributions-list.png
        assert_accessible(page)                 # axe-core audit, serious and critical findings fail

Chromium is found as CHROMIUM_PATH or `chromium` on PATH (the test command installs it with apt when
it can); nothing downloads a browser. Screenshots go to DM_ARTIFACTS_DIR (default var/artifacts), which
is not committed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

# Sync Playwright runs an event loop in this thread; Django's ORM must still be usable beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")

ROOT = Path(__file__).resolve().parents[2]
AXE_SOURCE = Path(__file__).with_name("vendor") / "axe.min.js"
ARTIFACTS = Path(os.environ.get("DM_ARTIFACTS_DIR") or ROOT / "var" / "artifacts")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Generous for a loaded 2-core machine; a passing step takes milliseconds.
DEFAULT_TIMEOUT_MS = 15_000


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "The browser tests need Debian's Chromium: `apt-get install chromium` "
            "(the test command does this when run as root), or set CHROMIUM_PATH.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import expect, sync_playwright

    # `expect` has a timeout of its own (5 s), separate from the context's: give it the same.
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def signed_in(browser, live_server) -> Iterator[Callable]:
    """`signed_in(user, viewport=None)`: a new page whose browser context carries `user`'s session."""
    contexts = []

    def open_page(user, *, viewport: dict | None = None):
        client = Client()
        client.force_login(user)
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport or {"width": 1366, "height": 900}
        )
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def htmx_settled(page) -> None:
    """Wait until no htmx request, swap or settle is under way (htmx marks elements while they are)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as an artifact (the README's images are chosen from these)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Findings of these impacts fail a test; "minor" and "moderate" ones are listed in the failure only
# when something serious is there too.
BLOCKING_IMPACTS = ("serious", "critical")


def accessibility_violations(page) -> list[dict]:
    """Run axe-core (vendored, WCAG 2 A and AA rules) on the page as it is now."""
    page.add_script_tag(content=AXE_SOURCE.read_text())
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
            }));
        }"""
    )


def assert_accessible(page) -> None:
    violations = accessibility_violations(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, (
        "Accessibility audit of "
        + page.url
        + ":\n"
        + "\n".join(
            f"- [{v['impact']}] {v['id']}: {v['help']} at {', '.join(v['targets'])}" for v in violations
        )
    )

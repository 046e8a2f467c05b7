"""The admin console in a real browser: headless Chromium (the Debian package, never a
downloaded browser) driven by Playwright. It signs in with a link, reads every page on a laptop
and on a phone, keeps a screenshot of each in ``build/console-screenshots/``, checks the charts
drew under the console's Content-Security-Policy, sees a form without its CSRF token and a
reused or non-admin's link refused with nothing changed, and answers a gap from the web form,
which must reach the asker's fake Slack thread.

Skipped when Playwright or Chromium is missing: ``make browser-test`` installs Playwright into
the virtualenv and runs this (``apt-get install chromium`` first)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.fake_slack import BOT_USER_ID, mention
from tests.test_console import Console, console

async_api = pytest.importorskip(
    "playwright.async_api", reason="Playwright is not installed: run `make browser-test`"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH: apt-get install chromium"
)
__all__ = ["console"]  # the fixture the test uses

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "console-screenshots"
PAGES = {
    "overview": ("/admin", "Overview: questions per day"),
    "gaps": ("/admin/gaps", "Unanswered questions"),
    "downvoted": ("/admin/downvoted", "Answers that got 👎"),
    "documents": ("/admin/documents", "Documents"),
    "sources": ("/admin/sources", "Sources"),
    "usage": ("/admin/usage", "Usage by model and platform"),
}
VIEWPORTS: dict[str, dict[str, Any]] = {
    "laptop": {"viewport": {"width": 1366, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
DOG = "Can I bring my dog to the office?"
DOG_ANSWER = "Yes: dogs are welcome in the office on Fridays, on a lead."
LEAVE = "How many days of annual leave do I get?"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with async_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def test_an_admin_reads_every_page_and_answers_a_gap_from_a_browser(
    console: Console, browser: Any
) -> None:
    slack = console.bot.slack
    dog = slack.remember(mention(f"<@{BOT_USER_ID}> {DOG}"))
    await console.bot.answer_to(dog)
    reply = await console.bot.answer_to(mention(f"<@{BOT_USER_ID}> {LEAVE}"))
    key = await console.bot.vote(-1, reply, channel="CGENERAL")
    await slack.wait_for(lambda: bool(slack.responses_to(key)))
    async with console.bot.core.kb.engine.begin() as connection:
        await connection.execute(
            text(
                """
                INSERT INTO sources (name, kind, interval_seconds, last_sync_at, last_success_at,
                    last_error, pages, added)
                VALUES ('intranet', 'web', 3600, now(), now() - interval '1 day',
                    'https://intranet.test/sitemap.xml answered 503 Service Unavailable', 12, 3)
                """
            )
        )
        # Two weeks of earlier answers, so the charts have days to show.
        await connection.execute(
            text(
                """
                INSERT INTO answers (id, created_at, outcome, grounded, cached, model,
                    latency_ms, cost_usd, question_hash, platform)
                SELECT 'past' || n, now() - make_interval(days => 1 + n % 14),
                    (ARRAY['answered', 'answered', 'answered', 'not_covered', 'unavailable'])
                        [1 + n % 5],
                    n % 5 < 3, n % 5 < 3 AND n % 7 = 0, 'gpt-4o-mini', 400 + (n * 37) % 2500, 0.002,
                    md5(n::text), (ARRAY['slack', 'teams'])[1 + n % 2]
                FROM generate_series(1, 160) AS n
                """
            )
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    problems: list[str] = []  # script errors and CSP violations, on any page
    for device, options in VIEWPORTS.items():
        context = await browser.new_context(**options)
        page = await context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda message: problems.append(message.text) if message.type == "error" else None,
        )
        await page.goto(await console.link())
        assert page.url == f"{console.bot.url}/admin"
        for name, (path, heading) in PAGES.items():
            await page.goto(console.bot.url + path)
            assert await page.locator("h1").inner_text() == heading
            if name == "overview":
                drawn = await page.evaluate(
                    "() => [...document.querySelectorAll('canvas[data-chart]')]"
                    ".map(c => Boolean(window.Chart && Chart.getChart(c)))"
                )
                assert drawn == [True, True, True, True]
                assert await page.locator("table").count() == 1  # the figures, for everyone
            if device == "phone":  # nothing wider than the screen but inside a scroller
                width = await page.evaluate("() => document.documentElement.scrollWidth")
                assert width <= 390, f"{name} is {width}px wide on a phone"
            await page.screenshot(path=str(SCREENSHOTS / f"{name}-{device}.png"), full_page=True)
        assert problems == []
        await context.close()

    context = await browser.new_context(**VIEWPORTS["laptop"])
    page = await context.new_page()
    link = await console.link()
    await page.goto(link)
    await page.goto(f"{console.bot.url}/admin/gaps")
    gap = page.locator("section.gap", has_text="bring my dog")

    # A form whose CSRF token was taken out is refused, and the gap stays open.
    await gap.locator("textarea[name=answer]").fill(DOG_ANSWER)
    await gap.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    await gap.get_by_role("button", name="Answer and tell the askers").click()
    await page.wait_for_load_state()
    assert "did not come from the console" in await page.locator("main").inner_text()
    await page.screenshot(path=str(SCREENSHOTS / "csrf-refused-laptop.png"))
    assert len(await console.open_gaps()) == 2

    # The link already used, and one for someone who is not an admin, open nothing.
    stranger = await browser.new_context(**VIEWPORTS["phone"])
    other = await stranger.new_page()
    for refused in (link, await console.sign_in.issue_link("UALICE", console.bot.url)):
        response = await other.goto(refused)
        assert response is not None and response.status == 403
    await other.screenshot(path=str(SCREENSHOTS / "link-refused-phone.png"))
    response = await other.goto(f"{console.bot.url}/admin/gaps")
    assert response is not None and response.status == 401
    await stranger.close()

    await page.goto(f"{console.bot.url}/admin/gaps")
    await gap.locator("textarea[name=answer]").fill(DOG_ANSWER)
    await gap.get_by_role("button", name="Answer and tell the askers").click()
    await page.wait_for_load_state()
    await page.screenshot(path=str(SCREENSHOTS / "gap-answered-laptop.png"), full_page=True)
    assert "Back" in await page.locator("main").inner_text()
    await context.close()

    def told() -> list[dict[str, Any]]:
        return [m for m in slack.posted("CGENERAL") if DOG_ANSWER in m["text"]]

    await slack.wait_for(lambda: bool(told()))
    assert told()[0]["thread_ts"] == dog["ts"]

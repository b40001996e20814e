"""axe-core (WCAG 2.2 AA rules) on every screen, in the light and the dark theme, at
desktop and phone width: no serious or critical violation anywhere, and no screen
wider than the phone."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.pages import Boards, SignIn
from tests.browser.stack import PASSWORD, Stack
from tests.processes import PROJECT_ROOT

AXE = (PROJECT_ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js").read_text()
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def violations(page: Page) -> list[str]:
    """The serious and critical findings of axe on the page as it is now, and a page
    wider than the screen (a phone user would have to scroll sideways)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = [f"wider than the screen by {overflow} px"] if overflow > 0 else []
    page.evaluate(AXE)  # evaluated through the DevTools protocol: the page's CSP allows it
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))",
        TAGS,
    )
    return wide + [json.dumps(v) for v in found if v["impact"] in ("serious", "critical")]


def public_screens(stack: Stack) -> list[tuple[str, str, Callable[[Page], None]]]:
    board = stack.board(stack.manager(), f"A11y {len(stack.smtp.mailbox.messages)}")
    uuid = stack.report(board["public_id"], "Projector flickers")

    def form_with_errors(page: Page) -> None:
        page.get_by_role("button", name="Send the report").click()
        expect(page.get_by_role("alert")).to_be_visible()

    return [
        ("sign-in", "/sign-in", lambda page: None),
        ("sign-up", "/sign-up", lambda page: None),
        ("check email", "/sign-up/check-email?email=a%40example.com", lambda page: None),
        ("verify, bad link", "/verify-email?token=nope", lambda page: None),
        ("forgot password", "/forgot-password", lambda page: None),
        ("reset password", "/reset-password?token=nope", lambda page: None),
        ("public form", f"/b/{board['public_id']}", lambda page: None),
        ("public form, errors", f"/b/{board['public_id']}", form_with_errors),
        ("status page", f"/t/{uuid}", lambda page: None),
        ("unknown status link", "/t/00000000-0000-4000-8000-000000000000", lambda page: None),
        ("not found", "/no/such/page", lambda page: None),
    ]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_serious_violation_on_any_screen(stack: Stack, open_browser, theme: str) -> None:
    email = stack.manager()
    board = stack.board(email, f"Rooms {theme}", keywords=["projector", "room"])
    stack.report(board["public_id"], "Room 3 projector flickers")
    inbox = stack.signed_out_inbox(
        email, "Support", status="consent_required", problem="Microsoft 365 wants consent."
    )
    stack.inbox(email, "Sales")
    found: dict[str, list[str]] = {}
    for viewport in (DESKTOP, PHONE):
        width = viewport["width"]
        context, console = open_browser(color_scheme=theme, viewport=viewport)
        console.expect("404")  # the unknown link and board answer 404, on purpose
        console.expect("422")  # the empty form is sent on purpose
        console.expect("400")  # a bad verification or reset token
        page = context.new_page()
        for name, path, act in public_screens(stack):
            page.goto(f"{stack.base_url}{path}")
            page.wait_for_load_state("networkidle")
            act(page)
            assert page.evaluate("document.documentElement.dataset.bsTheme") == theme
            found[f"{name} @ {width}"] = violations(page)

        SignIn(page).open(stack.base_url).sign_in(email, PASSWORD)
        boards = Boards(page).wait()
        found[f"boards @ {width}"] = violations(page)
        page.get_by_role("button", name="New board").click()
        found[f"new board form @ {width}"] = violations(page)
        page.get_by_role("button", name="Cancel").click()
        tickets = boards.open_board(f"Rooms {theme}")
        found[f"tickets @ {width}"] = violations(page)
        ticket = tickets.open_ticket("Room 3 projector flickers")
        found[f"ticket @ {width}"] = violations(page)
        ticket.page.get_by_role("link", name="All tickets of this board").click()
        tickets.settings()
        found[f"settings @ {width}"] = violations(page)
        page.goto(f"{stack.base_url}/inboxes?oauth2=connected")
        expect(page.get_by_role("heading", name="Inboxes")).to_be_visible()
        found[f"inboxes @ {width}"] = violations(page)
        page.goto(f"{stack.base_url}/inboxes/{inbox}?oauth2=failed&reason=imap_failed&detail=x")
        expect(page.get_by_role("button", name="Reconnect with Google")).to_be_visible()
        found[f"inbox, sign-in failed @ {width}"] = violations(page)
        boards.open_menu()
        found[f"open menu @ {width}"] = violations(page)
        boards.sign_out()
    failures = [f"{name}: {finding}" for name, findings in found.items() for finding in findings]
    assert not failures, "axe found serious or critical violations:\n" + "\n".join(failures)

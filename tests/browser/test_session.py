"""How the web app keeps a session: the access token in memory, the refresh token in
an HttpOnly cookie; a reload keeps the manager signed in, a sign-out reaches every
tab, and an expired session leads through sign-in back to where the manager was."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.pages import Boards, SignIn
from tests.browser.stack import PASSWORD, Stack


def test_a_reload_keeps_the_manager_signed_in_and_no_token_is_readable(
    stack: Stack, open_browser
) -> None:
    email = stack.manager()
    context, _ = open_browser()
    page = context.new_page()
    SignIn(page).open(stack.base_url).sign_in(email, PASSWORD)
    Boards(page).wait()

    (cookie,) = [c for c in context.cookies() if c["name"] == "refresh_token"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth"
    assert page.evaluate("document.cookie") == ""
    storage = page.evaluate("JSON.stringify(Object.assign({}, localStorage, sessionStorage))")
    assert "eyJ" not in storage  # no JWT kept where a script could read it

    page.reload()
    Boards(page).wait()
    expect(page.get_by_text("Anna Nowak")).to_be_visible()


def test_signing_out_in_one_tab_signs_out_every_tab(stack: Stack, open_browser) -> None:
    email = stack.manager()
    context, _ = open_browser()
    first = context.new_page()
    SignIn(first).open(stack.base_url).sign_in(email, PASSWORD)
    Boards(first).wait()
    second = context.new_page()
    second.goto(f"{stack.base_url}/boards")
    Boards(second).wait()

    Boards(first).sign_out()
    # The other tab learns it at once, without being touched.
    expect(SignIn(second).heading("auth:sign_in.title")).to_be_visible()
    assert [c for c in context.cookies() if c["name"] == "refresh_token"] == []
    second.goto(f"{stack.base_url}/boards")
    expect(SignIn(second).heading("auth:sign_in.title")).to_be_visible()


def test_an_expired_session_returns_through_sign_in_to_the_same_place(
    stack: Stack, open_browser
) -> None:
    email = stack.manager()
    board = stack.board(email, "Network")
    context, console = open_browser()
    page = context.new_page()
    SignIn(page).open(stack.base_url).sign_in(email, PASSWORD)
    tickets = Boards(page).wait().open_board("Network")

    # The session ends behind the app's back (as when it is revoked or runs out):
    # the next request gets a 401, the silent refresh fails, and sign-in follows.
    console.expect("401")
    assert (
        page.evaluate("fetch('/api/v1/auth/logout', {method: 'POST'}).then(r => r.status)") == 204
    )
    tickets.search("vpn")
    sign_in = SignIn(page)
    expect(sign_in.heading("auth:sign_in.title")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(sign_in.t("auth:sign_in.expired"))
    assert re.search(r"next=%2Fboards%2F\d+%3Fq%3Dvpn", page.url), page.url

    sign_in.sign_in(email, PASSWORD)
    expect(page).to_have_url(f"{stack.base_url}/boards/{board['id']}?q=vpn")
    expect(page.get_by_role("searchbox")).to_have_value("vpn")


def test_tabs_reloading_at_once_keep_the_session(stack: Stack, open_browser) -> None:
    # Each tab trades the same rotating refresh cookie for a token; presented twice,
    # the server would take it for a stolen one and end the session everywhere.
    email = stack.manager()
    context, console = open_browser()
    tabs = [context.new_page() for _ in range(3)]
    SignIn(tabs[0]).open(stack.base_url).sign_in(email, PASSWORD)
    Boards(tabs[0]).wait()
    for tab in tabs[1:]:
        tab.goto(f"{stack.base_url}/boards")
        Boards(tab).wait()
    for _ in range(3):
        # All at one instant (their clocks are this machine's), as a browser restoring
        # its tabs does.
        at = tabs[0].evaluate("Date.now() + 400")
        for tab in tabs:
            tab.evaluate("at => setTimeout(() => location.reload(), at - Date.now())", at)
        for tab in tabs:
            tab.wait_for_load_state("load")
            Boards(tab).wait()
    assert console.unexpected() == []

"""Boards as a manager keeps them: archiving asks first and closes the public form,
settings are saved as typed, the search box follows the address, and addresses
that name nothing say so."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.browser.pages import Boards, SignIn
from tests.browser.stack import PASSWORD, Stack


def test_archiving_asks_first_and_closes_the_public_form(stack: Stack, open_browser) -> None:
    email = stack.manager()
    board = stack.board(email, "Kitchen")
    stack.board(email, "Parking")
    context, console = open_browser()
    console.expect("404")  # the archived board's form answers 404, as it should
    page = context.new_page()
    SignIn(page).open(stack.base_url).sign_in(email, PASSWORD)
    boards = Boards(page).wait()

    page.get_by_role("button", name="Archive Kitchen").click()
    dialog = page.get_by_role("dialog", name="Archive Kitchen?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("list", name="Active boards").get_by_role("heading")).to_have_count(2)

    page.get_by_role("button", name="Archive Kitchen").click()
    page.get_by_role("dialog").get_by_role("button", name="Archive the board").click()
    archived = page.get_by_role("list", name="Archived boards")
    expect(archived.get_by_role("link", name="Kitchen")).to_be_visible()
    expect(page.get_by_role("list", name="Active boards").get_by_role("heading")).to_have_count(1)

    reporter = context.new_page()
    reporter.goto(f"{stack.base_url}/b/{board['public_id']}")
    expect(reporter.get_by_role("heading", name="This form is not available")).to_be_visible()

    archived.get_by_role("button", name="Unarchive Kitchen").click()
    expect(page.get_by_role("list", name="Active boards").get_by_role("heading")).to_have_count(2)
    reporter.reload()
    expect(reporter.get_by_role("heading", name="Kitchen")).to_be_visible()
    boards.wait()


def test_settings_save_what_was_typed_and_keywords_are_tags(stack: Stack, open_browser) -> None:
    email = stack.manager()
    stack.board(email, "Printers", keywords=["toner"])
    context, _ = open_browser(viewport=PHONE)
    page = context.new_page()
    SignIn(page).open(stack.base_url).sign_in(email, PASSWORD)
    tickets = Boards(page).wait().open_board("Printers")
    tickets.settings()

    page.get_by_label("Name", exact=True).fill("Printers and scanners")
    keywords = page.get_by_role("textbox", name="Keywords")
    keywords.fill("scanner, Toner, drukarka")
    keywords.press("Enter")
    page.get_by_role("button", name="Remove the keyword drukarka").click()
    expect(keywords).to_be_focused()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="The changes are saved.")).to_be_visible()

    page.reload()
    expect(page.get_by_role("heading", name="Printers and scanners", level=1)).to_be_visible()
    tags = page.get_by_role("list", name="Keywords added").get_by_role("listitem")
    expect(tags).to_have_text(["toner", "scanner"])  # "Toner" repeats "toner": kept once


def test_the_search_box_follows_the_address(stack: Stack, open_browser) -> None:
    email = stack.manager()
    board = stack.board(email, "Network")
    stack.report(board["public_id"], "VPN drops every hour")
    stack.report(board["public_id"], "Wi-Fi slow in room 5")
    context, _ = open_browser()
    page = context.new_page()
    SignIn(page).open(stack.base_url).sign_in(email, PASSWORD)
    tickets = Boards(page).wait().open_board("Network")
    expect(tickets.titles()).to_have_count(2)

    tickets.search("vpn")
    expect(tickets.titles()).to_have_text(["VPN drops every hour"])
    expect(page).to_have_url(f"{stack.base_url}/boards/{board['id']}?q=vpn")
    page.get_by_role("link", name="Tickets", exact=True).click()
    expect(page.get_by_role("searchbox")).to_have_value("")
    expect(tickets.titles()).to_have_count(2)
    page.go_back()
    expect(page.get_by_role("searchbox")).to_have_value("vpn")


def test_addresses_that_name_nothing_say_so(stack: Stack, open_browser) -> None:
    email = stack.manager()
    context, console = open_browser()
    console.expect("404")
    page = context.new_page()
    page.goto(f"{stack.base_url}/t/%ZZ")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    SignIn(page).open(stack.base_url).sign_in(email, PASSWORD)
    Boards(page).wait()
    page.goto(f"{stack.base_url}/boards/abc")
    expect(page.get_by_role("alert")).to_contain_text("Not found")
    page.goto(f"{stack.base_url}/boards/999999")
    expect(page.get_by_role("alert")).to_contain_text("Not found")

"""Sign-in and the public form with the keyboard alone: every field reached by Tab in
a sensible order, the honeypot never, and Enter sends."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE
from tests.browser.pages import Boards, PublicForm, SignIn
from tests.browser.stack import PASSWORD, Stack


def tab_to(page: Page, name: str, limit: int = 15) -> list[str]:
    """Press Tab until the field or button called `name` has the focus; the names passed."""
    passed: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const el = document.activeElement;
                const label = el.labels && el.labels[0] ? el.labels[0].textContent : '';
                return label || el.getAttribute('aria-label') || el.textContent.trim() || el.name;
            }"""
        )
        passed.append(focused)
        if focused == name:
            return passed
    raise AssertionError(f"Tab never reached {name!r}; it went through {passed}")


def test_signing_in_with_the_keyboard_only(stack: Stack, open_browser) -> None:
    email = stack.manager()
    context, _ = open_browser()
    page = context.new_page()
    screen = SignIn(page).open(stack.base_url)
    tab_to(page, screen.t("auth:fields.email"))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    Boards(page).wait()


def test_reporting_with_the_keyboard_only_on_a_phone(stack: Stack, open_browser) -> None:
    board = stack.board(stack.manager(), "Keyboard")
    context, _ = open_browser(viewport=PHONE)
    page = context.new_page()
    form = PublicForm(page).open(f"{stack.base_url}/b/{board['public_id']}")
    tab_to(page, form.t("public:fields.title"))
    page.keyboard.type("The door badge reader is dead")
    page.keyboard.press("Tab")
    page.keyboard.type("It blinks red for everyone.")
    page.keyboard.press("Tab")
    page.keyboard.type("keys@example.com")
    passed = tab_to(page, form.t("public:form.submit"))
    assert "website" not in passed  # the honeypot is out of the tab order
    assert passed[:2] == [form.t("public:fields.name"), form.t("public:fields.language")]
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("status").filter(has_text=form.t("public:form.thanks_title"))
    ).to_be_visible()

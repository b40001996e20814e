"""The language and the theme: the browser's until the person picks one, then
remembered; a signed-in manager's language goes to the profile too, so the mail
the app sends them speaks it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.pages import Boards, SignIn
from tests.browser.stack import PASSWORD, Stack
from tests.processes import wait_until


def test_a_chosen_language_is_remembered_and_saved_to_the_profile(
    stack: Stack, open_browser
) -> None:
    email = stack.manager(language="en")
    context, _ = open_browser(language="en")
    page = context.new_page()
    SignIn(page).open(stack.base_url).sign_in(email, PASSWORD)
    boards = Boards(page).wait()

    boards.switch_language("pl")
    boards.wait()  # the same screen, now with its Polish heading
    assert page.evaluate("document.documentElement.lang") == "pl"
    with stack.api() as api:
        token = api.post("/auth/login", json={"email": email, "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}

        wait_until(
            lambda: api.get("/me", headers=headers).json()["language"] == "pl",
            deadline=10,
            what="the profile's language to become pl",
        )

    page.reload()
    Boards(page, "pl").wait()


def test_a_profile_language_is_taken_on_a_device_that_never_chose(
    stack: Stack, open_browser
) -> None:
    email = stack.manager(language="pl")
    context, _ = open_browser(language="en")
    page = context.new_page()
    SignIn(page, "en").open(stack.base_url).sign_in(email, PASSWORD)
    Boards(page, "pl").wait()


def test_the_theme_follows_the_system_until_one_is_chosen(stack: Stack, open_browser) -> None:
    board = stack.board(stack.manager(), "Themes")
    context, _ = open_browser(color_scheme="dark")
    page = context.new_page()
    page.goto(f"{stack.base_url}/b/{board['public_id']}")
    theme = page.get_by_label("Theme", exact=True)
    expect(theme).to_have_value("system")
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "dark"

    theme.select_option("light")
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "light"
    page.reload()
    expect(page.get_by_label("Theme", exact=True)).to_have_value("light")
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "light"

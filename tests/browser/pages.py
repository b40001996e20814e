"""Page objects: one class per screen, with what a person does there, found by the
accessible names the screen shows in its language. A redesign changes this file,
not the tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect

from tests.browser.catalog import text


@dataclass
class Screen:
    page: Page
    language: str = "en"

    def t(self, key: str, **values: object) -> str:
        return text(self.language, key, **values)

    def button(self, key: str, **values: object) -> Locator:
        return self.page.get_by_role("button", name=self.t(key, **values), exact=True)

    def field(self, key: str) -> Locator:
        return self.page.get_by_label(self.t(key), exact=True)

    def heading(self, key: str, **values: object) -> Locator:
        return self.page.get_by_role("heading", name=self.t(key, **values))

    def switch_language(self, language: str) -> None:
        self.page.get_by_label(self.t("common:language"), exact=True).select_option(language)
        self.language = language

    def choose_theme(self, theme: str) -> None:
        self.page.get_by_label(self.t("common:theme.label"), exact=True).select_option(theme)


class ManagerScreen(Screen):
    """What every manager screen has: the top bar, folded into a menu on a phone."""

    def open_menu(self) -> None:
        toggle = self.page.get_by_role("button", name=self.t("common:menu"))
        if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
            toggle.click()

    def sign_out(self) -> None:
        self.open_menu()
        self.button("common:sign_out").click()
        expect(self.heading("auth:sign_in.title")).to_be_visible()


class SignUp(Screen):
    def open(self, base_url: str) -> SignUp:
        self.page.goto(f"{base_url}/sign-up")
        expect(self.heading("auth:sign_up.title")).to_be_visible()
        return self

    def sign_up(self, *, name: str, email: str, password: str) -> None:
        self.field("auth:fields.full_name").fill(name)
        self.field("auth:fields.email").fill(email)
        self.field("auth:fields.password").fill(password)
        self.button("auth:sign_up.submit").click()
        expect(self.heading("auth:check_email.title")).to_be_visible()


class VerifyEmail(Screen):
    def follow(self, link: str) -> None:
        self.page.goto(link)
        expect(
            self.page.get_by_role("status").filter(has_text=self.t("auth:verify.done"))
        ).to_be_visible()
        self.page.get_by_role("link", name=self.t("auth:verify.sign_in")).click()


class SignIn(Screen):
    def open(self, base_url: str, path: str = "/sign-in") -> SignIn:
        self.page.goto(f"{base_url}{path}")
        expect(self.heading("auth:sign_in.title")).to_be_visible()
        return self

    def sign_in(self, email: str, password: str) -> None:
        self.field("auth:fields.email").fill(email)
        self.field("auth:fields.password").fill(password)
        self.button("auth:sign_in.submit").click()


class Boards(ManagerScreen):
    def wait(self) -> Boards:
        expect(self.heading("boards:list.title")).to_be_visible()
        return self

    def create(self, name: str, description: str, keywords: list[str]) -> str:
        """Creates a board; returns its public form's address from the copyable field."""
        self.button("boards:list.new").click()
        self.field("boards:fields.name").fill(name)
        self.field("boards:fields.description").fill(description)
        keyword_box = self.field("boards:fields.keywords")
        for keyword in keywords:
            keyword_box.fill(keyword)
            keyword_box.press("Enter")
        self.button("boards:list.create").click()
        expect(self.page.get_by_role("status").filter(has_text=name)).to_be_visible()
        return self.public_link(name)

    def public_link(self, name: str) -> str:
        return self._public_link_box(name).input_value()

    def copy_public_link(self, name: str) -> None:
        group = self.page.locator(".input-group", has=self._public_link_box(name))
        group.get_by_role("button", name=self.t("common:copy"), exact=True).click()
        expect(group.get_by_role("button", name=self.t("common:copied"))).to_be_visible()

    def _public_link_box(self, name: str) -> Locator:
        return self.page.get_by_label(self.t("boards:public_link.label", name=name), exact=True)

    def open_board(self, name: str) -> BoardTickets:
        self.page.get_by_role("link", name=name, exact=True).click()
        return BoardTickets(self.page, self.language).wait(name)


class BoardTickets(ManagerScreen):
    def wait(self, name: str) -> BoardTickets:
        expect(self.page.get_by_role("heading", name=name, level=1)).to_be_visible()
        expect(self.page.get_by_role("search")).to_be_visible()
        return self

    def search(self, words: str) -> None:
        self.page.get_by_role("searchbox", name=self.t("tickets:filters.search")).fill(words)

    def filter_state(self, state: str) -> None:
        self.field("tickets:filters.state").select_option(state)

    def titles(self) -> Locator:
        return self.page.get_by_role("table").get_by_role("link")

    def open_ticket(self, title: str) -> Ticket:
        self.page.get_by_role("link", name=title, exact=True).click()
        return Ticket(self.page, self.language).wait(title)

    def settings(self) -> None:
        self.page.get_by_role("link", name=self.t("boards:tabs.settings"), exact=True).click()
        expect(self.heading("boards:settings.title")).to_be_visible()


class Ticket(ManagerScreen):
    def wait(self, title: str) -> Ticket:
        expect(self.page.get_by_role("heading", name=title, level=2)).to_be_visible()
        return self

    def move(self, to_state: str, comment: str = "") -> None:
        if comment:
            self.field("tickets:move.comment").fill(comment)
        self.button(f"tickets:move.to.{to_state}").click()
        state = self.t(f"common:state.{to_state}")
        expect(self.page.get_by_role("status").filter(has_text=state)).to_be_visible()

    def expect_moves(self, *to_states: str) -> None:
        """Only the moves the state machine allows are offered."""
        group = self.page.get_by_role("group", name=self.t("tickets:move.buttons"))
        expect(group.get_by_role("button")).to_have_text(
            [self.t(f"tickets:move.to.{s}") for s in to_states]
        )


class PublicForm(Screen):
    def open(self, link: str) -> PublicForm:
        self.page.goto(link)
        expect(self.page.get_by_role("button", name=self.t("public:form.submit"))).to_be_visible()
        return self

    def fill(self, *, title: str, description: str, email: str, name: str = "") -> None:
        self.field("public:fields.title").fill(title)
        self.field("public:fields.description").fill(description)
        self.field("public:fields.email").fill(email)
        if name:
            self.field("public:fields.name").fill(name)

    def submit(self) -> str:
        """Sends the report; returns the status link the page shows."""
        self.button("public:form.submit").click()
        done = self.page.get_by_role("status").filter(has_text=self.t("public:form.thanks_title"))
        expect(done).to_be_visible()
        link = done.get_by_role("link").first
        href = link.get_attribute("href")
        assert href and re.fullmatch(r"/t/[0-9a-f-]{36}", href), href
        return href


class Status(Screen):
    def open(self, link: str) -> Status:
        self.page.goto(link)
        expect(self.page.get_by_text(self.t("public:status.current"))).to_be_visible()
        return self

    def state(self) -> str:
        paragraph = self.page.locator("p", has_text=self.t("public:status.current"))
        return paragraph.locator(".badge").inner_text()

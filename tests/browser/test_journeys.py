"""The whole path through the web app, as the people who use it walk it: a manager
signs up, confirms the address from the mail, makes a board; a reporter on a phone
reports through its public form and follows the link; the manager finds the ticket
and moves it; the reporter sees the new state. Once in English, once in Polish."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.browser.pages import Boards, PublicForm, SignIn, SignUp, Status, VerifyEmail
from tests.browser.stack import PASSWORD, Stack

WORDS = {
    "en": {
        "board": "Printers",
        "description": "Paper jams, toner, drivers.",
        "title": "The printer on floor {} jams",
        "body": "Every second page gets stuck since Monday.",
        "comment": "A technician is on the way.",
    },
    "pl": {
        "board": "Drukarki",
        "description": "Zacięcia papieru, toner, sterowniki.",
        "title": "Drukarka na piętrze {} się zacina",
        "body": "Co druga strona utyka od poniedziałku.",
        "comment": "Technik jest w drodze.",
    },
}


def link_in(mail_text: str, path: str) -> str:
    match = re.search(rf"https?://\S+{re.escape(path)}\S*", mail_text)
    assert match, f"no {path} link in:\n{mail_text}"
    return match.group(0)


@pytest.mark.parametrize("language", ["en", "pl"])
def test_from_sign_up_to_a_moved_ticket(stack: Stack, open_browser, language: str) -> None:
    words = WORDS[language]
    email = f"owner-{language}-{secrets.token_hex(3)}@example.com"
    reporter = f"reporter-{language}-{secrets.token_hex(3)}@example.com"
    tag = secrets.token_hex(2)

    # The manager's browser is set to the language: the app speaks it unasked.
    manager_context, _ = open_browser(language=language)
    manager = manager_context.new_page()
    SignUp(manager, language).open(stack.base_url).sign_up(
        name="Anna Nowak", email=email, password=PASSWORD
    )

    (verification,) = stack.smtp.mailbox.wait_for(email)
    body = verification.get_body(preferencelist=("plain",))
    assert body is not None
    VerifyEmail(manager, language).follow(link_in(body.get_content(), "/verify-email?token="))
    sign_in = SignIn(manager, language)
    expect(sign_in.field("auth:fields.email")).to_have_value(email)
    sign_in.sign_in(email, PASSWORD)

    boards = Boards(manager, language).wait()
    form_link = boards.create(words["board"], words["description"], ["toner", "printer"])
    assert form_link.startswith(f"{stack.base_url}/b/")
    manager_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.base_url)
    boards.copy_public_link(words["board"])
    assert manager.evaluate("navigator.clipboard.readText()") == form_link

    # The reporter, on a phone, in the same language.
    reporter_context, _ = open_browser(language=language, viewport=PHONE)
    phone = reporter_context.new_page()
    form = PublicForm(phone, language).open(form_link)
    expect(phone.get_by_role("heading", name=words["board"])).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    title = words["title"].format(tag)
    form.fill(title=title, description=words["body"], email=reporter, name="Jan Kowalski")
    status_path = form.submit()

    # The acknowledgement carries the same link, in the reporter's language.
    (acknowledgement,) = stack.smtp.mailbox.wait_for(reporter)
    assert acknowledgement["Content-Language"] == language
    ack_body = acknowledgement.get_body(preferencelist=("plain",))
    assert ack_body is not None
    assert link_in(ack_body.get_content(), "/t/").endswith(status_path)

    phone.get_by_role("link", name=re.compile(status_path.rsplit("/", 1)[1])).click()
    status = Status(phone, language)
    expect(phone.get_by_role("heading", name=title)).to_be_visible()
    assert status.state() == status.t("common:state.new")

    # The manager finds it by a word of its title and moves it along.
    tickets = boards.open_board(words["board"])
    tickets.search(tag)
    expect(tickets.titles()).to_have_count(1)
    expect(tickets.titles()).to_have_text(title)
    ticket = tickets.open_ticket(title)
    ticket.expect_moves("in_progress", "closed", "rejected")
    ticket.move("in_progress", comment=words["comment"])
    ticket.expect_moves("closed", "rejected")

    # The reporter sees the new state and the comment.
    phone.reload()
    expect(phone.get_by_text(words["comment"])).to_be_visible()
    assert status.state() == status.t("common:state.in_progress")
    assert phone.evaluate("document.documentElement.lang") == language

"""Screenshots of the main screens, each in English and Polish, light and dark, at
1280 px and 390 px, taken from a real server in Chromium:
`python -m tests.browser.screenshots OUT_DIR [--all]` (`make screenshots` writes
the set kept in docs/screenshots; --all takes every combination, for review)."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

from tests.browser.catalog import text
from tests.browser.conftest import CHROMIUM_ARGS, DESKTOP, LOCALE, PHONE
from tests.browser.pages import Boards, PublicForm, SignIn
from tests.browser.stack import PASSWORD, Stack, running_stack
from tests.database import database_server
from tests.fakes.oauth import FakeOAuthProvider

# The set kept in the docs: every screen in both languages, themes and widths would
# be 112 files; these four show each screen in each language, theme and width once.
KEPT = [
    ("en", "light", DESKTOP),
    ("pl", "dark", DESKTOP),
    ("en", "dark", PHONE),
    ("pl", "light", PHONE),
]
ALL = [
    (lang, theme, size)
    for lang in ("en", "pl")
    for theme in ("light", "dark")
    for size in (DESKTOP, PHONE)
]


def seed(stack: Stack) -> dict[str, str]:
    """A manager with two boards and tickets in every state; the paths to show."""
    email = stack.manager()
    printers = stack.board(email, "Printers", description="Paper jams, toner, drivers.",
                           keywords=["printer", "toner", "drukarka"])  # fmt: skip
    stack.board(email, "Network", description="Wi-Fi, VPN, cables.", keywords=["vpn", "wifi"])
    titles = [
        "The printer on floor 2 jams",
        "Toner empty in room 114",
        "Drukarka nie drukuje w kolorze",
    ]
    uuids = [stack.report(printers["public_id"], title, name="Jan Kowalski") for title in titles]
    with stack.api() as api:
        token = api.post("/auth/login", json={"email": email, "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        listed = api.get(f"/boards/{printers['id']}/tickets", headers=headers).json()["items"]
        first = next(t for t in listed if t["title"] == titles[0])
        api.post(f"/tickets/{first['id']}/transitions", headers=headers,
                 json={"to_state": "in_progress", "comment": "A technician is on the way.",
                       "internal_note": "Probably the fuser."})  # fmt: skip
        third = next(t for t in listed if t["title"] == titles[2])
        api.post(
            f"/tickets/{third['id']}/transitions", headers=headers, json={"to_state": "closed"}
        )
    support = stack.signed_out_inbox(
        email,
        "Support",
        status="reconnect_needed",
        problem="Google no longer accepts this inbox's sign-in (it was revoked, expired or the "
        "account's password changed): reconnect the inbox to sign in again.",
    )
    stack.inbox(email, "Sales")
    return {
        "email": email,
        "inbox": f"/inboxes/{support}",
        "board": f"/boards/{printers['id']}",
        "ticket": f"/boards/{printers['id']}/tickets/{first['id']}",
        "form": f"/b/{printers['public_id']}",
        "status": f"/t/{uuids[0]}",
    }


def screens(paths: dict[str, str]) -> list[tuple[str, Callable[[Page, str, str], None], bool]]:
    def visit(path: str) -> Callable[[Page, str, str], None]:
        def go(page: Page, base: str, language: str) -> None:
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")

        return go

    def form_sent(page: Page, base: str, language: str) -> None:
        form = PublicForm(page, language).open(f"{base}{paths['form']}")
        form.fill(
            title="Scanner shows error E5",
            description="Since this morning.",
            email="ola@example.com",
        )
        form.submit()

    def form_errors(page: Page, base: str, language: str) -> None:
        form = PublicForm(page, language).open(f"{base}{paths['form']}")
        form.field("public:fields.email").fill("not-an-address")
        form.button("public:form.submit").click()
        expect(page.get_by_role("alert")).to_be_visible()

    def connect_form(page: Page, base: str, language: str) -> None:
        page.goto(f"{base}/inboxes")
        label = text(language, "inboxes:connect.with", provider="Microsoft 365")
        page.get_by_role("button", name=label).click()
        expect(page.get_by_label(text(language, "inboxes:connect.name"))).to_be_visible()

    anonymous = [
        ("sign-in", visit("/sign-in")),
        ("sign-up", visit("/sign-up")),
        ("public-form", visit(paths["form"])),
        ("public-form-errors", form_errors),
        ("public-form-sent", form_sent),
        ("status-page", visit(paths["status"])),
    ]
    signed_in = [
        ("boards", visit("/boards")),
        ("board-tickets", visit(paths["board"])),
        ("ticket", visit(paths["ticket"])),
        ("board-settings", visit(f"{paths['board']}/settings")),
        ("inboxes", visit("/inboxes")),
        ("inbox-connect", connect_form),
        ("inbox", visit(paths["inbox"])),
        (
            "inbox-signin-failed",
            visit(f"{paths['inbox']}?oauth2=failed&reason=wrong_browser&detail=Start+again+here."),
        ),
    ]
    return [(name, show, False) for name, show in anonymous] + [
        (name, show, True) for name, show in signed_in
    ]


def take(out: Path, combinations: list[tuple[str, str, ViewportSize]]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp, database_server(Path(tmp)) as db:
        # Registered with the providers' stand-in, so the inbox pages offer to connect.
        with (
            FakeOAuthProvider() as provider,
            running_stack(db, Path(tmp) / "data", **provider.app_settings()) as stack,
            sync_playwright() as playwright,
        ):
            paths = seed(stack)
            chromium = shutil.which("chromium")
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for language, theme, size in combinations:
                for signed_in in (False, True):
                    context = browser.new_context(
                        locale=LOCALE[language],
                        viewport=size,
                        color_scheme=theme,  # type: ignore[arg-type]
                    )
                    page = context.new_page()
                    # Picked on the device, so that the profile's language does not win.
                    sign_in = SignIn(page, language).open(stack.base_url)
                    sign_in.switch_language(language)
                    if signed_in:
                        sign_in.sign_in(paths["email"], PASSWORD)
                        Boards(page, language).wait()
                    for name, show, needs_session in screens(paths):
                        if needs_session != signed_in:
                            continue
                        show(page, stack.base_url, language)
                        path = out / f"{name}-{language}-{theme}-{size['width']}.png"
                        page.screenshot(path=str(path), full_page=True)
                        written.append(path)
                    context.close()
            browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--all", action="store_true", help="every language, theme and width")
    args = parser.parse_args()
    for path in take(args.out, ALL if args.all else KEPT):
        print(path)


if __name__ == "__main__":
    main()

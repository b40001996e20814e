"""The API docs work offline: Swagger UI from the app's own files, under its CSP."""

from __future__ import annotations

from playwright.sync_api import Route, expect

from tests.browser.stack import Stack


def test_the_api_docs_list_the_operations_with_nothing_but_the_app_reachable(
    stack: Stack, open_browser
) -> None:
    context, _ = open_browser()
    elsewhere: list[str] = []

    def only_the_app(route: Route) -> None:
        if route.request.url.startswith(stack.base_url):
            route.continue_()
        else:  # a CDN, fonts, telemetry: a network without internet
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_app)
    page = context.new_page()
    page.goto(f"{stack.base_url}/api/docs")
    expect(page.get_by_role("heading", name="Simple Issue Tracker")).to_be_visible()
    status_link = page.locator(".opblock-summary-path", has_text="/api/v1/public/tickets/")
    expect(status_link.first).to_be_visible()
    assert page.locator(".opblock").count() > 30  # every route, listed
    assert elsewhere == []

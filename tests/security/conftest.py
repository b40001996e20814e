"""The forwarding stack of tests/integrations (an app on a database of its own, the
forwarder, fake Jira and Trello), for the outbound-connection tests here."""

from tests.integrations.conftest import committed_url, jira, stack, trello  # noqa: F401

"""Two replicas on one PostgreSQL, as docs/deployment.md sets them up: one runs the
workers, one (WORKERS_ENABLED=false) answers HTTP only. Mail appended to a real
Dovecot and reports submitted through both: every mail one report, every forward
pushed to Jira once, and both replicas answer the same data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LIVE_ENCRYPTION_KEY, LIVE_SECRET_KEY, free_port
from tests.database import DatabaseServer
from tests.dovecot import Dovecot
from tests.fakes.jira import FakeJira
from tests.inboxes.test_email_flow import message
from tests.integrations.conftest import jira_settings
from tests.processes import run_cli, serve, served_env, wait_until
from tests.smtp import SmtpServer
from tests.workers.helpers import query

MAILS = 4
REPORTS = 4  # under the per-address limit of 10 a minute: both replicas see 127.0.0.1


def test_two_replicas_share_one_database_and_do_each_thing_once(
    db_server: DatabaseServer, smtp_server: SmtpServer, dovecot: Dovecot, tmp_path: Path
) -> None:
    with FakeJira() as jira, db_server.fresh("replicas") as url:
        env = served_env(
            database_url=url,
            data_dir=str(tmp_path / "workers"),
            secret_key=LIVE_SECRET_KEY,
            encryption_key=LIVE_ENCRYPTION_KEY,
            smtp=(smtp_server.host, smtp_server.port),
        )
        http_only = {**env, "DATA_DIR": str(tmp_path / "http"), "WORKERS_ENABLED": "false"}
        # Started together: both migrate at start-up, under the advisory lock.
        with serve(free_port(), env) as workers, serve(free_port(), http_only) as web:
            workers.wait_until_ready()
            web.wait_until_ready()
            created = run_cli(
                "create-manager",
                "--email",
                "ops@example.com",
                "--password",
                "long enough secret",
                "--name",
                "Ops",
                "--verified",
                env=env,
            )
            assert created.returncode == 0, created.stderr
            apis = [
                httpx.Client(base_url=f"{s.base_url}/api/v1", timeout=30) for s in (workers, web)
            ]
            token = (
                apis[1]
                .post(
                    "/auth/login",
                    json={"email": "ops@example.com", "password": "long enough secret"},
                )
                .json()["access_token"]
            )
            auth = {"Authorization": f"Bearer {token}"}  # one key: good on both

            login, password = dovecot.add_user()
            inbox = apis[1].post(  # set up through the replica without workers
                "/inboxes",
                headers=auth,
                json=dovecot.inbox(login, password, poll_interval_seconds=3600),
            )
            assert inbox.status_code == 201, inbox.text
            board = apis[0].post(
                "/boards",
                headers=auth,
                json={
                    "name": "Printers",
                    "keywords": ["printer"],
                    "email_inbox_id": inbox.json()["id"],
                },
            )
            assert board.status_code == 201, board.text
            board_id, public_id = board.json()["id"], board.json()["public_id"]
            forwarding = apis[1].put(
                f"/boards/{board_id}/integration", headers=auth, json=jira_settings(jira)
            )
            assert forwarding.status_code == 200, forwarding.text

            for n in range(MAILS):
                dovecot.append(
                    login,
                    password,
                    message(f"Printer {n} by mail", "it jams", f"mail-{n}", f"m{n}@example.org"),
                )
            for n in range(REPORTS):
                submitted = apis[n % 2].post(
                    f"/public/boards/{public_id}/tickets",
                    json={
                        "title": f"Printer {n} by form",
                        "description": "it jams",
                        "email": f"f{n}@example.org",
                        "name": "Jan",
                    },
                )
                assert submitted.status_code == 201, submitted.text

            def forwarded(api: httpx.Client) -> list[dict[str, Any]]:
                page = api.get(f"/boards/{board_id}/external-tickets", headers=auth).json()
                items = page["items"]
                done = len(items) == MAILS + REPORTS and all(
                    i["status"] == "created" for i in items
                )
                return items if done else []

            seen_by_workers = wait_until(lambda: forwarded(apis[0]), deadline=60, what="forwards")
            seen_by_web = forwarded(apis[1])
            logs = workers.output(), web.output()
        outcomes = query(url, "SELECT outcome, count(*) FROM processed_emails GROUP BY outcome")

    summaries = sorted(issue["fields"]["summary"] for issue in jira.issues)
    assert summaries == sorted(
        [f"Printer {n} by mail" for n in range(MAILS)]
        + [f"Printer {n} by form" for n in range(REPORTS)]
    )  # each pushed once: no duplicate issue
    assert seen_by_web == seen_by_workers  # both answer the same data
    assert sorted(i["external_id"] for i in seen_by_web) == sorted(i["key"] for i in jira.issues)
    assert outcomes == [("external", MAILS)]  # every mail read once, made one report
    assert "workers started" in logs[0] and "workers started" not in logs[1]

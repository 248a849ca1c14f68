"""TASKLINK_STATE_URL: the store is chosen, migrated under a lock, inspected, and every problem with it
stops start-up with one line that names it — password redacted, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tasklink.errors import ConfigurationError, StateUnavailable
from tasklink.settings import TaskLinkSettings
from tasklink.state import open_store
from tasklink.state.postgres import redacted
from tasklink.state.schema import CODE_VERSION

from .conftest import free_port
from .http_support import base_env, run_tasklink
from .pg_support import Cluster

PASSWORD = "s3cret-Pa55word-for-the-store"  # trust auth ignores it; it must never be shown


def with_password(url: str) -> str:
    return url.replace("tasklink@", f"tasklink:{PASSWORD}@", 1)


def env_for(tmp_path: Path, url: str) -> dict[str, str]:
    return base_env(tmp_path / "data", TASKLINK_STATE_URL=url)


def one_line_refusal(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_the_url_is_redacted_wherever_it_is_shown() -> None:
    url = f"postgresql://app:{PASSWORD}@db.internal:5432/tasklink?sslmode=require&password={PASSWORD}"
    shown = redacted(url)
    assert PASSWORD not in shown and "app:***@db.internal:5432/tasklink" in shown and "sslmode=require" in shown


@pytest.mark.parametrize(
    ("what", "url_of", "says"),
    [
        ("unreachable", lambda c: f"postgresql://u:{PASSWORD}@127.0.0.1:{free_port()}/postgres", "cannot connect"),
        ("unknown role", lambda c: c.url.replace("tasklink@", f"nobody:{PASSWORD}@"), 'role "nobody" does not exist'),
        ("missing database", lambda c: with_password(c.url.rsplit("/", 1)[0] + "/no_such_db"), "no_such_db"),
        ("not a store URL", lambda c: "mysql://x@y/z", "neither sqlite"),
    ],
)
def test_a_store_problem_stops_start_up_with_one_line(
    tmp_path: Path, pg_cluster: Cluster, what: str, url_of: object, says: str
) -> None:
    url = url_of(pg_cluster)  # type: ignore[operator]
    done = run_tasklink(env_for(tmp_path, url), "call", "list_vendors", "--args", "{}")
    one_line_refusal(done, says)


def test_a_schema_newer_than_the_code_is_refused(tmp_path: Path, pg_url: str) -> None:
    open_store(TaskLinkSettings(data_dir=tmp_path / "data", state_url=pg_url))  # migrated to the current version
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (%s, 'from the future', 0)", (CODE_VERSION + 1,))
    done = run_tasklink(env_for(tmp_path, with_password(pg_url)), "call", "list_vendors", "--args", "{}")
    one_line_refusal(done, f"schema version {CODE_VERSION + 1}", "upgrade tasklink")


def test_migrate_and_status_for_operators(tmp_path: Path, pg_url: str) -> None:
    env = env_for(tmp_path, with_password(pg_url))
    before = run_tasklink(env, "state", "status")
    assert before.returncode != 0 and "tasklink state migrate" in before.stderr, before.stderr  # nothing applied yet
    migrated = run_tasklink(env, "state", "migrate")
    assert migrated.returncode == 0 and f"schema version {CODE_VERSION}" in migrated.stdout, migrated.stderr
    status = run_tasklink(env, "state", "status", "--json")
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["kind"] == "postgresql" and shown["schema_version"] == shown["code_version"] == CODE_VERSION
    assert set(shown["tables"]) >= {"idempotency", "audit", "locks", "recent_writes"}
    assert PASSWORD not in status.stdout + migrated.stdout and "***" in shown["where"]


def test_workers_starting_together_on_a_fresh_database_migrate_once(tmp_path: Path, pg_url: str) -> None:
    script = (
        "import sys; from pathlib import Path; from tasklink.settings import TaskLinkSettings; "
        "from tasklink.state import open_store; "
        "s = open_store(TaskLinkSettings(data_dir=Path(sys.argv[2]), state_url=sys.argv[1])); "
        "print(s.shared_key().hex())"
    )
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", script, pg_url, str(tmp_path / f"d{n}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    outputs = [p.communicate(timeout=60) for p in starts]
    assert [p.returncode for p in starts] == [0] * 6, [err for _, err in outputs]
    assert len({out.strip() for out, _ in outputs}) == 1  # one shared key, whoever made it
    with psycopg.connect(pg_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, CODE_VERSION + 1))


def test_an_sqlite_url_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "state.sqlite3"
    store = open_store(TaskLinkSettings(data_dir=tmp_path / "data", state_url=f"sqlite://{path}"))
    assert store.kind == "sqlite" and path.exists() and not (tmp_path / "data" / "state.sqlite3").exists()
    with pytest.raises(ConfigurationError, match="absolute path"):
        open_store(TaskLinkSettings(data_dir=tmp_path / "data", state_url="sqlite://relative/state.sqlite3"))
    assert issubclass(StateUnavailable, ConfigurationError)

"""Listing sandboxes: statuses, odd rows, filters, sort orders, keyset pages, windows and counts."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.errors import InvalidCursorError, InvalidQueryError
from backend.sandboxes.models import (
    KNOWN_STATUSES,
    TERMINATION_REASONS,
    SandboxQuery,
    SandboxRow,
    SandboxSort,
)
from backend.sandboxes.service import Sandboxes
from tests.backend.sandbox_helpers import (
    add_run,
    add_sandbox,
    db_file,
    dead_pid,
    make_config,
    query_all,
)


@pytest.fixture
def sandboxes(backend: LocalBackend) -> Sandboxes:
    return backend.sandboxes()


@pytest.fixture
def db(backend: LocalBackend) -> Path:
    return db_file(backend)


async def all_rows(sandboxes: Sandboxes, query: SandboxQuery | None = None) -> list[SandboxRow]:
    return list((await sandboxes.list(query, limit=10_000)).rows)


async def by_name(sandboxes: Sandboxes, query: SandboxQuery | None = None) -> dict[str, SandboxRow]:
    return {row.name: row for row in await all_rows(sandboxes, query)}


# -- statuses and runs ------------------------------------------------------------------------------


async def test_every_known_status_is_listed_as_stored(sandboxes: Sandboxes, db: Path) -> None:
    for status in KNOWN_STATUSES:
        add_sandbox(db, f"s-{status.lower()}", status=status)
    rows = await by_name(sandboxes)
    assert {row.status for row in rows.values()} == set(KNOWN_STATUSES)
    assert all(row.status_known and not row.problems for row in rows.values() if row.status != "Running"
               and row.status != "Draining")
    assert rows["s-stopped"].effective_status == "Stopped"
    assert rows["s-running"].note == "no run recorded yet: the sandbox is still starting"


async def test_unknown_status_is_listed_with_a_problem_and_others_unaffected(
    sandboxes: Sandboxes, db: Path
) -> None:
    add_sandbox(db, "odd", status="running")  # lowercase: not what microsandbox writes
    add_sandbox(db, "fine", status="Stopped")
    rows = await by_name(sandboxes)
    assert rows["odd"].status == "running" and rows["odd"].status_known is False
    assert any("unknown status 'running'" in p for p in rows["odd"].problems)
    assert rows["fine"].problems == ()
    counts = await sandboxes.counts_by_status()
    assert counts == {"running": 1, "Stopped": 1}


@pytest.mark.parametrize("reason", TERMINATION_REASONS)
async def test_every_termination_reason_is_shown_on_the_latest_run(
    sandboxes: Sandboxes, db: Path, reason: str
) -> None:
    sid = add_sandbox(db, "box")
    add_run(db, sid, pid=10, exit_code=0, reason="Completed", started="2026-01-01 10:00:00",
            terminated="2026-01-01 10:01:00")
    add_run(db, sid, pid=11, exit_code=3, reason=reason, started="2026-01-02 10:00:00.5",
            terminated="2026-01-02 10:05:00.123456789")
    (row,) = await all_rows(sandboxes)
    assert row.latest_run is not None
    assert row.latest_run.termination_reason == reason
    assert row.latest_run.exit_code == 3 and row.latest_run.pid == 11
    assert row.latest_run.terminated_at == datetime(2026, 1, 2, 10, 5, 0, 123456, tzinfo=UTC)
    assert row.latest_run.pid_alive is None  # a terminated run's pid is not checked
    assert row.problems == ()


async def test_unknown_run_status_and_reason_are_problems(sandboxes: Sandboxes, db: Path) -> None:
    sid = add_sandbox(db, "box")
    add_run(db, sid, status="Exploded", reason="Gremlins")
    (row,) = await all_rows(sandboxes)
    assert any("unknown status 'Exploded'" in p for p in row.problems)
    assert any("unknown termination reason 'Gremlins'" in p for p in row.problems)
    assert row.latest_run is not None and row.latest_run.status == "Exploded"


async def test_running_row_with_dead_pid_gets_a_note_and_nothing_is_written(
    sandboxes: Sandboxes, db: Path
) -> None:
    pid = dead_pid()
    sid = add_sandbox(db, "ghost", status="Running")
    add_run(db, sid, pid=pid, status="Running")
    draining = add_sandbox(db, "drain", status="Draining")
    add_run(db, draining, pid=pid, status="Running")
    no_pid = add_sandbox(db, "nopid", status="Running")
    add_run(db, no_pid, pid=None, status="Running")
    before = query_all(db, "SELECT * FROM sandbox ORDER BY id"), query_all(db, "SELECT * FROM run ORDER BY id")
    rows = await by_name(sandboxes)
    assert rows["ghost"].status == "Running"
    assert rows["ghost"].effective_status == "Crashed"
    assert rows["ghost"].note == f"pid {pid} is not alive: microsandbox would mark it Crashed"
    assert rows["drain"].effective_status == "Crashed"
    assert rows["nopid"].effective_status == "Crashed" and "has no pid" in (rows["nopid"].note or "")
    assert rows["ghost"].latest_run is not None and rows["ghost"].latest_run.pid_alive is False
    after = query_all(db, "SELECT * FROM sandbox ORDER BY id"), query_all(db, "SELECT * FROM run ORDER BY id")
    assert after == before


async def test_running_row_with_live_pid_shows_the_pid(sandboxes: Sandboxes, db: Path) -> None:
    sid = add_sandbox(db, "alive", status="Running")
    add_run(db, sid, pid=dead_pid(), status="Running", started="2026-01-01 10:00:00")
    add_run(db, sid, pid=os.getpid(), status="Running", started="2026-01-01 11:00:00")
    (row,) = await all_rows(sandboxes)
    assert row.note is None and row.effective_status == "Running"
    assert row.live_pid == os.getpid()
    assert row.latest_run is not None and row.latest_run.pid_alive is True


async def test_latest_running_run_decides_even_when_an_older_one_is_alive(
    sandboxes: Sandboxes, db: Path
) -> None:
    # microsandbox looks at the latest Running run only; list still shows the live older pid.
    sid = add_sandbox(db, "mixed", status="Running")
    add_run(db, sid, pid=os.getpid(), status="Running", started="2026-01-01 10:00:00")
    dead = dead_pid()
    add_run(db, sid, pid=dead, status="Running", started="2026-01-01 11:00:00")
    (row,) = await all_rows(sandboxes)
    assert row.effective_status == "Crashed"
    assert row.live_pid == os.getpid()


async def test_stopped_row_with_a_live_running_run_is_noted(sandboxes: Sandboxes, db: Path) -> None:
    sid = add_sandbox(db, "leftover", status="Stopped")
    add_run(db, sid, pid=os.getpid(), status="Running")
    (row,) = await all_rows(sandboxes)
    assert row.effective_status == "Stopped"
    assert row.note is not None and "still alive" in row.note


# -- odd configs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "a list, expected a JSON object"),
        ("null", "null, expected a JSON object"),
        ('"text"', "text, expected a JSON object"),
    ],
)
async def test_malformed_config_is_listed_with_a_problem(
    sandboxes: Sandboxes, db: Path, config: str, problem: str
) -> None:
    add_sandbox(db, "bad", config=config)
    add_sandbox(db, "good", created="2026-01-02 00:00:00", config=make_config("good", labels={"team": "ml"}))
    rows = await by_name(sandboxes)
    assert rows["bad"].image == "-"
    assert any(problem in p for p in rows["bad"].problems), rows["bad"].problems
    assert rows["good"].problems == () and rows["good"].image == "python"
    # A label filter walks the malformed row without failing the query.
    matched = await by_name(sandboxes, SandboxQuery(labels=(("team", "ml"),)))
    assert list(matched) == ["good"]
    assert await sandboxes.count(SandboxQuery(labels=(("team", "ml"),))) == 1


async def test_nulls_where_values_are_expected(sandboxes: Sandboxes, db: Path) -> None:
    config = make_config("nully", resources={"cpus": None, "memory_mib": 1024}, labels=None, mounts=None,
                         image=None, network=None, runtime={"cmd": None, "entrypoint": "sh"})
    add_sandbox(db, "nully", config=config)
    (row,) = await all_rows(sandboxes)
    assert row.cpus is None and row.memory_mib == 1024
    assert row.labels == {} and row.mounts == () and row.ports == () and row.image == "-"
    text = "\n".join(row.problems)
    for fragment in ("resources.cpus is null", "labels is null", "mounts is null", "image is null",
                     "network is null", "runtime.entrypoint is text"):
        assert fragment in text


async def test_missing_keys_take_microsandbox_defaults_silently(sandboxes: Sandboxes, db: Path) -> None:
    add_sandbox(db, "bare", config={"name": "bare", "image": {"Bind": "/srv/root"}})
    (row,) = await all_rows(sandboxes)
    assert (row.cpus, row.memory_mib, row.image, row.image_kind) == (1, 512, "/srv/root", "Bind")
    assert row.problems == () and row.labels == {} and row.command is None


async def test_unknown_enum_text_in_config_is_a_problem(sandboxes: Sandboxes, db: Path) -> None:
    config = make_config("enum", image={"Floppy": "a.img"},
                         mounts=[{"type": "Nfs", "host": "srv:/x", "guest": "/x", "options": {}}])
    add_sandbox(db, "enum", config=config)
    (row,) = await all_rows(sandboxes)
    assert "unknown image kind 'Floppy'" in row.problems
    assert any("unknown type 'Nfs'" in p for p in row.problems)
    assert row.mounts[0].kind == "Nfs"


async def test_image_kinds_mounts_ports_and_command(sandboxes: Sandboxes, db: Path) -> None:
    mounts = [
        {"type": "Bind", "host": "/src", "guest": "/src", "options": {**dict.fromkeys(
            ("readonly", "noexec", "nosuid", "nodev"), True)}, "stat_virtualization": "relaxed",
         "host_permissions": "mirror"},
        {"type": "Named", "name": "cache", "guest": "/cache", "readonly": True},  # legacy shape
        {"type": "DiskImage", "host": "/d.qcow2", "guest": "/d", "format": "Qcow2", "fstype": None,
         "options": {"readonly": False}},
    ]
    network = {"enabled": True, "ports": [{"host_port": 8080, "guest_port": 80, "protocol": "tcp",
                                           "host_bind": "0.0.0.0"}]}
    add_sandbox(db, "disk", config=make_config(
        "disk", image={"DiskImage": {"path": "/img.raw", "format": "Raw", "fstype": "ext4"}}, mounts=mounts,
        network=network, runtime={"entrypoint": ["/init"], "cmd": ["serve", "--port", "80"]}))
    add_sandbox(db, "legacy", created="2026-01-02 00:00:00", config=make_config("legacy", image={"Oci": "alpine"}))
    rows = await by_name(sandboxes)
    disk = rows["disk"]
    assert disk.image == "/img.raw" and disk.image_kind == "DiskImage"
    assert [(m.kind, m.source, m.display) for m in disk.mounts] == [
        ("Bind", "/src", "/src"), ("Named", "cache", "volume:cache"),
        ("DiskImage", "/d.qcow2", "disk:/d.qcow2 (Qcow2) [auto]"),
    ]
    assert disk.mounts[0].flags == "ro,noexec,nosuid,nodev [stat-virt=relaxed,host-perms=mirror]"
    assert disk.mounts[1].readonly is True
    assert [str(p) for p in disk.ports] == ["0.0.0.0:8080->80/tcp"]
    assert disk.command == "/init serve --port 80"
    assert rows["legacy"].image == "alpine"
    assert rows["legacy"].mounts[1].display == "volume:data"


async def test_ephemeral_comes_from_the_column_or_the_config(sandboxes: Sandboxes, db: Path) -> None:
    add_sandbox(db, "col", ephemeral=1)
    add_sandbox(db, "cfg", config=make_config("cfg", lifecycle={"ephemeral": True}))  # pre-migration-12 row
    add_sandbox(db, "no")
    rows = await by_name(sandboxes)
    assert (rows["col"].ephemeral, rows["cfg"].ephemeral, rows["no"].ephemeral) == (True, True, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-04 05:06:07", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2026-03-04 05:06:07.123", datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)),
        ("2026-03-04 05:06:07.123456", datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)),
        ("2026-03-04 05:06:07.123456789", datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)),
    ],
)
async def test_fractional_timestamps(sandboxes: Sandboxes, db: Path, text: str, expected: datetime) -> None:
    add_sandbox(db, "t", created=text, updated=text)
    (row,) = await all_rows(sandboxes)
    assert row.created_at == expected and row.updated_at == expected and row.problems == ()


async def test_unreadable_timestamp_and_null_timestamp(sandboxes: Sandboxes, db: Path) -> None:
    add_sandbox(db, "bad", created="yesterday")
    add_sandbox(db, "none", created=None)
    rows = await by_name(sandboxes)
    assert rows["bad"].created_at is None
    assert "created_at 'yesterday' is not a timestamp" in rows["bad"].problems
    assert rows["none"].created_at is None and rows["none"].problems == ()


async def test_name_microsandbox_would_reject_is_a_problem(sandboxes: Sandboxes, db: Path) -> None:
    add_sandbox(db, "-dash", config=make_config("-dash"))
    (row,) = await all_rows(sandboxes)
    assert any("must start with an alphanumeric" in p for p in row.problems)


# -- filters ---------------------------------------------------------------------------------------------


async def test_label_filters_are_exact_and_key_alone_means_empty_value(sandboxes: Sandboxes, db: Path) -> None:
    add_sandbox(db, "a", config=make_config("a", labels={"team": "ml", "gpu": ""}))
    add_sandbox(db, "b", config=make_config("b", labels={"team": "ml-ops", "gpu": "a100"}))
    add_sandbox(db, "c", config=make_config("c", labels={"team": "ML"}))
    add_sandbox(db, "d", config=make_config("d", labels={"team": 5, 'we"ird': "x"}))
    add_sandbox(db, "e", config=make_config("e", labels={"team": ["ml"]}))

    async def names(text: str) -> list[str]:
        return sorted(await by_name(sandboxes, SandboxQuery.parse(text)))

    assert await names("label:team=ml") == ["a"]
    assert await names("label:gpu") == ["a"]  # not a key-exists test
    assert await names("label:gpu=a100") == ["b"]
    assert await names("label:team=ml label:gpu") == ["a"]
    assert await names("label:team=ml label:gpu=a100") == []
    assert await names("label:team=5") == []  # a number is not the text "5"
    assert await names('label:team=["ml"]') == []
    assert await names("'label:we\"ird=x'") == ["d"]
    assert await names("label:absent") == []


async def test_name_status_filters_and_counts(sandboxes: Sandboxes, db: Path) -> None:
    add_sandbox(db, "Web-1", status="Running")
    add_sandbox(db, "web_2", status="Stopped")
    add_sandbox(db, "db-1", status="Crashed")
    add_sandbox(db, "w%b", status="Stopped")
    assert sorted(await by_name(sandboxes, SandboxQuery(name_contains="WEB"))) == ["Web-1", "web_2"]
    assert list(await by_name(sandboxes, SandboxQuery(name_contains="%"))) == ["w%b"]
    assert list(await by_name(sandboxes, SandboxQuery(name_contains="_"))) == ["web_2"]
    running = SandboxQuery.parse("status:RUNNING")
    assert list(await by_name(sandboxes, running)) == ["Web-1"]
    both = SandboxQuery.parse("status:running,crashed")
    assert sorted(await by_name(sandboxes, both)) == ["Web-1", "db-1"]
    assert await sandboxes.count(both) == 2
    assert await sandboxes.count() == 4
    assert await sandboxes.counts_by_status() == {"Running": 1, "Stopped": 2, "Crashed": 1}


def test_query_parse_and_text_round_trip() -> None:
    query = SandboxQuery.parse('web status:running label:team=ml label:gpu "label:note=a b" api')
    assert query.name_contains == "web api"
    assert query.statuses == frozenset({"Running"})
    assert query.labels == (("team", "ml"), ("gpu", ""), ("note", "a b"))
    assert SandboxQuery.parse(query.to_text()) == query
    assert SandboxQuery.parse("status:weird").statuses == frozenset({"weird"})
    assert not SandboxQuery().is_filtered and query.is_filtered


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('label:"team', "close the quote"),
        ("status:", "status: needs a value"),
        ("label:", "label: needs a key"),
        ("label:=x", "label: needs a key"),
    ],
)
def test_query_parse_rejects_bad_filter_text(text: str, message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        SandboxQuery.parse(text)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sort": "size"},
        {"statuses": {"Running"}},
        {"statuses": frozenset({""})},
        {"labels": [("a", "b")]},
        {"labels": (("", "b"),)},
        {"labels": (("a",),)},
        {"name_contains": 5},
        {"name_contains": "a\x00"},
        {"descending": "yes"},
    ],
)
def test_query_rejects_bad_fields(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidQueryError):
        SandboxQuery(**kwargs)  # type: ignore[arg-type]


# -- order, pages, windows -----------------------------------------------------------------------------


def _seed(db: Path) -> None:
    statuses = ["Stopped", "Running", "Crashed", "Paused"]
    for i in range(23):
        # Several rows share a created_at, so the id tie-break is exercised.
        add_sandbox(db, f"n{(i * 7) % 23:02d}", status=statuses[i % 4],
                    created=f"2026-01-01 10:00:{i // 3:02d}.{i % 2}", updated=f"2026-02-{(i * 5) % 27 + 1:02d} 00:00:00")


def _expected(db: Path, sort: str, descending: bool) -> list[str]:
    column = {"name": "name", "status": "status", "created": "coalesce(created_at, '')",
              "updated": "coalesce(updated_at, '')"}[sort]
    rows = query_all(db, f"SELECT {column}, id, name FROM sandbox")
    return [r[2] for r in sorted(rows, key=lambda r: (r[0], r[1]), reverse=descending)]


@pytest.mark.parametrize("sort", ["name", "status", "created", "updated"])
@pytest.mark.parametrize("descending", [True, False])
async def test_keyset_pages_walk_the_whole_order_both_ways(
    sandboxes: Sandboxes, db: Path, sort: str, descending: bool
) -> None:
    _seed(db)
    query = SandboxQuery(sort=sort, descending=descending)  # type: ignore[arg-type]
    expected = _expected(db, sort, descending)
    pages = []
    page = await sandboxes.list(query, limit=5)
    assert page.prev_cursor is None
    while True:
        pages.append([row.name for row in page.rows])
        if page.next_cursor is None:
            break
        page = await sandboxes.list(query, limit=5, after=page.next_cursor)
    assert [name for chunk in pages for name in chunk] == expected
    assert [len(chunk) for chunk in pages] == [5, 5, 5, 5, 3]
    back = []
    while page.prev_cursor is not None:
        page = await sandboxes.list(query, limit=5, before=page.prev_cursor)
        back.append([row.name for row in page.rows])
    assert back == pages[-2::-1]
    for offset in (0, 4, 20, 22, 30):
        window = await sandboxes.window(query, offset, 4)
        assert [row.name for row in window] == expected[offset:offset + 4]


async def test_default_order_is_created_descending_like_msb_ls(sandboxes: Sandboxes, db: Path) -> None:
    add_sandbox(db, "old", created="2026-01-01 00:00:00")
    add_sandbox(db, "new", created="2026-01-03 00:00:00")
    add_sandbox(db, "mid", created="2026-01-02 00:00:00")
    assert [row.name for row in await all_rows(sandboxes)] == ["new", "mid", "old"]


async def test_pages_on_an_empty_home_and_past_the_end(sandboxes: Sandboxes, db: Path) -> None:
    page = await sandboxes.list()
    assert page.rows == () and page.next_cursor is None and page.prev_cursor is None
    add_sandbox(db, "only")
    first = await sandboxes.list(limit=1)
    assert first.next_cursor is None
    assert await sandboxes.window(None, 5, 10) == []
    assert await sandboxes.window(None, 0, 0) == []


async def test_read_only_backend_without_a_catalog_lists_nothing(home: Path) -> None:
    backend = LocalBackend.lazy(read_only=True)
    try:
        sandboxes = backend.sandboxes()
        assert (await sandboxes.list()).rows == ()
        assert await sandboxes.count() == 0
        assert await sandboxes.counts_by_status() == {}
        assert await sandboxes.window(None, 0, 10) == []
    finally:
        await backend.close()
    assert not (home / "db" / "msb.db").exists()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"limit": 0}, InvalidQueryError, "limit"),
        ({"limit": 10_001}, InvalidQueryError, "limit"),
        ({"limit": True}, InvalidQueryError, "limit"),
        ({"after": "x", "before": "y"}, InvalidQueryError, "not both"),
        ({"after": "!!!"}, InvalidCursorError, "start again"),
        ({"after": ""}, InvalidCursorError, "previous page"),
        ({"before": 12}, InvalidCursorError, "previous page"),
    ],
)
async def test_list_rejects_bad_arguments(
    sandboxes: Sandboxes, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await sandboxes.list(SandboxQuery(), **kwargs)  # type: ignore[arg-type]


async def test_cursor_from_another_order_is_refused(sandboxes: Sandboxes, db: Path) -> None:
    for i in range(3):
        add_sandbox(db, f"x{i}")
    page = await sandboxes.list(SandboxQuery(sort="name", descending=False), limit=1)
    assert page.next_cursor is not None
    with pytest.raises(InvalidCursorError, match="made for the 'name' ascending order"):
        await sandboxes.list(SandboxQuery(), after=page.next_cursor)
    # Filters may change between pages: the cursor is a position in the order, not in one result.
    filtered = await sandboxes.list(SandboxQuery(sort="name", descending=False, name_contains="x2"),
                                    after=page.next_cursor)
    assert [row.name for row in filtered.rows] == ["x2"]


@pytest.mark.parametrize(("offset", "limit"), [(-1, 5), (0, -1), (0, 10_001), ("0", 5), (0, 2.5)])
async def test_window_rejects_bad_arguments(sandboxes: Sandboxes, offset: object, limit: object) -> None:
    with pytest.raises(InvalidQueryError):
        await sandboxes.window(SandboxQuery(), offset, limit)  # type: ignore[arg-type]


async def test_query_must_be_a_sandbox_query(sandboxes: Sandboxes) -> None:
    with pytest.raises(InvalidQueryError, match="SandboxQuery"):
        await sandboxes.list("web")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match="SandboxQuery"):
        await sandboxes.count({"name": "web"})  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", ["random", "reversed", "correlated"])
async def test_pages_are_exact_whatever_the_rowid_order(sandboxes: Sandboxes, db: Path, shape: str) -> None:
    # The page query takes a bound from a rowid-range probe; it must never change the result.
    import random
    import sqlite3

    rng = random.Random(4)
    count = 300
    seconds = {"random": rng.sample(range(count), count), "reversed": list(range(count, 0, -1)),
               "correlated": list(range(count))}[shape]
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO sandbox (name, config, status, created_at, updated_at) VALUES (?, '{}', ?, ?, ?)",
            [(f"r{i:03d}", ["Stopped", "Running", "Crashed"][i % 3],
              f"2026-01-01 00:{s // 60:02d}:{s % 60:02d}", f"2026-01-01 00:00:{i % 7:02d}")
             for i, s in enumerate(seconds)],
        )
    sorts: tuple[SandboxSort, ...] = ("created", "updated", "status")
    for sort in sorts:
        for descending in (True, False):
            query = SandboxQuery(sort=sort, descending=descending, statuses=frozenset({"Stopped", "Crashed"}))
            expected = [n for n in _expected(db, sort, descending)
                        if n in {f"r{i:03d}" for i in range(count) if i % 3 != 1}]
            names: list[str] = []
            page = await sandboxes.list(query, limit=7)
            while True:
                names.extend(row.name for row in page.rows)
                if page.next_cursor is None:
                    break
                page = await sandboxes.list(query, limit=7, after=page.next_cursor)
            assert names == expected, (sort, descending)


async def test_status_counts_add_up_ephemeral_and_persistent_rows(sandboxes: Sandboxes, db: Path) -> None:
    add_sandbox(db, "p1", ephemeral=0)
    add_sandbox(db, "e1", ephemeral=1)
    add_sandbox(db, "e2", ephemeral=1, status="Running")
    assert await sandboxes.counts_by_status() == {"Stopped": 2, "Running": 1}

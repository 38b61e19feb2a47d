"""``doctor``: sources of settings, config and schema results, terminal facts, JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

from backend import LocalBackend
from backend.doctor import colour_depth, gather, terminal_checks


def checks_by_name(report_section: list) -> dict[str, object]:  # type: ignore[type-arg]
    return {c.name: c for c in report_section}


async def test_report_on_a_fresh_home_writes_nothing(home: Path) -> None:
    report = await gather(LocalBackend.lazy(), env={"MSB_HOME": str(home), "TERM": "xterm-256color",
                                                    "LANG": "C.UTF-8"})
    assert list(home.iterdir()) == []
    document = report.to_json()
    assert set(document["sections"]) == {"home", "config", "database", "terminal"}
    home_check = document["sections"]["home"][0]
    assert home_check["value"] == f"{home} (from environment)"
    database = checks_by_name(report.sections["database"])
    assert "no database yet" in database["schema"].value  # type: ignore[attr-defined]
    assert database["schema"].level == "warn"  # type: ignore[attr-defined]
    json.dumps(document)


async def test_report_counts_rows_and_flags_a_bad_config(home: Path) -> None:
    backend = await LocalBackend.new()
    await backend.close()
    (home / "config.json").write_text('{"sandbox_defaults": {"cpus": 999}}')
    report = await gather(LocalBackend.lazy(), home_from_flag=True, env={"TERM": "xterm"})
    assert report.sections["home"][0].value.endswith("(from flag)")
    config = checks_by_name(report.sections["config"])
    assert config["config"].level == "error"  # type: ignore[attr-defined]
    assert "sandbox_defaults.cpus" in config["config"].value  # type: ignore[attr-defined]
    database = checks_by_name(report.sections["database"])
    assert database["sandboxes"].value == "0" and database["volumes"].value == "0"  # type: ignore[attr-defined]
    assert report.worst == "error"
    text = report.render_text()
    assert "[config]" in text and "FAIL" in text and "fix:" in text


def test_terminal_facts_suggest_fixes() -> None:
    bad = checks_by_name(terminal_checks({"TERM": "dumb", "LANG": "C"}))
    assert bad["TERM"].level == "warn" and "xterm-256color" in bad["TERM"].fix  # type: ignore[attr-defined]
    good = checks_by_name(terminal_checks({"TERM": "tmux-256color", "TMUX": "/tmp/t,1,0",
                                           "LANG": "en_US.UTF-8", "SSH_TTY": "/dev/pts/1"}))
    assert good["multiplexer"].value == "tmux"  # type: ignore[attr-defined]
    assert good["SSH session"].value == "yes"  # type: ignore[attr-defined]
    wrong_term_in_tmux = checks_by_name(terminal_checks({"TERM": "xterm", "TMUX": "x"}))
    assert "tmux-256color" in (wrong_term_in_tmux["multiplexer"].fix or "")  # type: ignore[attr-defined]


def test_colour_depth() -> None:
    assert colour_depth({"TERM": "xterm-256color", "COLORTERM": "truecolor"}) == 16_777_216
    assert colour_depth({"TERM": "screen-256color"}) == 256
    assert colour_depth({"TERM": "xterm"}) == 16
    assert colour_depth({"TERM": "xterm-256color", "NO_COLOR": "1"}) == 0

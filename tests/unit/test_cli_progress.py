"""The CLI progress bar: hidden for quick work, shown once work passes the delay."""

from __future__ import annotations

import io
import time

from rich.console import Console

from synthgov import cli


def test_progress_bar_waits_for_the_delay_then_shows(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=buf, force_terminal=True, width=100))
    bar = cli._Progress(delay=0.2)
    bar("fit", 1, 10)
    assert bar.bar is None  # quick work: no bar at all
    time.sleep(0.25)
    bar("fit", 5, 10)
    bar("sample", 100, 1000)
    assert bar.bar is not None and set(bar.tasks) == {"fit", "sample"}
    tasks = {t.description: (t.completed, t.total) for t in bar.bar.tasks}
    assert tasks == {"fit": (5, 10), "sample": (100, 1000)}
    bar.close()
    assert "fit" in buf.getvalue()


def test_no_bar_when_not_a_terminal(monkeypatch):
    monkeypatch.setattr(cli, "err", Console(file=io.StringIO(), force_terminal=False))
    monkeypatch.delenv("SYNTHGOV_PROGRESS", raising=False)
    bar = cli._Progress(delay=0.0)
    bar("fit", 1, 2)
    assert bar.bar is None
    monkeypatch.setenv("SYNTHGOV_PROGRESS", "1")
    bar("fit", 2, 2)
    assert bar.bar is not None
    bar.close()

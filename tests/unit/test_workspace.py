"""The workspace: where synthgov writes by default."""

from __future__ import annotations

import synthgov as sg


def test_env_var_wins_over_cwd(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHGOV_HOME", str(tmp_path / "home"))
    ws = sg.workspace()
    assert ws.root == (tmp_path / "home").resolve()
    assert ws.outputs.is_dir() and ws.outputs.parent == ws.root


def test_default_is_dot_synthgov_in_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("SYNTHGOV_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    ws = sg.Workspace()
    assert ws.root == (tmp_path / ".synthgov").resolve()
    assert not ws.root.exists()  # nothing is created until something is written
    assert ws.models.is_dir()


def test_explicit_path_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHGOV_HOME", str(tmp_path / "env"))
    assert sg.Workspace(tmp_path / "mine").root == (tmp_path / "mine").resolve()

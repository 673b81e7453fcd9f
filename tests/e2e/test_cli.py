"""`python -m bot ...` maintenance commands, run as a person would run them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store import open_store
from bot.store.audit import append_audit

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def run_bot(tmp_path, *args, **env):
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "PENNY_DB": str(tmp_path / "penny.db"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_audit_verify_passes_then_detects_a_modified_row(tmp_path):
    store = open_store(str(tmp_path / "penny.db"))
    for i in range(4):
        append_audit(store, "U0ALICE", "requested", f"apr-{i}", {"i": i})
    ok = run_bot(tmp_path, "audit", "verify", SLACK_BOT_TOKEN="xoxb-cli")
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    store.execute("DROP TRIGGER audit_log_no_update")
    store.execute("UPDATE audit_log SET actor = 'U0MALLORY' WHERE seq = 2")
    store.close()
    broken = run_bot(tmp_path, "audit", "verify", SLACK_BOT_TOKEN="xoxb-cli")
    assert broken.returncode == 1
    assert "row 2" in broken.stdout


def test_a_bad_configuration_names_every_problem_without_a_traceback(tmp_path):
    (tmp_path / "penny.toml").write_text('[jobs.weekly_digest]\ncron = "every monday"\n')
    result = run_bot(tmp_path, "serve", PENNY_TIMEZONE="Mars/Olympus", SLACK_BOT_TOKEN="xoxb-cli")
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr and "PENNY_TIMEZONE" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_bot(tmp_path, "jobs", "list", SLACK_BOT_TOKEN="xoxb-cli")
    assert result.returncode == 2
    assert "cron 'every monday'" in result.stderr and "Traceback" not in result.stderr


def test_jobs_list_and_an_unknown_job(tmp_path):
    listed = run_bot(tmp_path, "jobs", "list", SLACK_BOT_TOKEN="xoxb-cli")
    assert listed.returncode == 0, listed.stderr
    for job in (
        "budget_alerts",
        "anomaly_report",
        "weekly_digest",
        "idle_resources",
        "approval_expiry",
    ):
        assert job in listed.stdout
    assert "next:" in listed.stdout
    unknown = run_bot(tmp_path, "jobs", "run", "nope", SLACK_BOT_TOKEN="xoxb-cli")
    assert unknown.returncode == 2
    assert "budget_alerts" in unknown.stdout + unknown.stderr

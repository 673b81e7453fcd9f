"""Exactly once: 50+ simultaneous Approve clicks from 2 processes (threads in each) sharing
one database file lead to one execution, one outcome and an intact audit chain."""

from __future__ import annotations

import logging
import multiprocessing
from collections import Counter

import boto3
import pytest
from moto.server import ThreadedMotoServer

from bot.approvals_engine import get_engine
from bot.store import approvals as st
from bot.store import open_store
from bot.store.audit import latest_audit, verify_audit_chain
from tests.approval_samples import ALICE, BOB, REQUESTER
from tests.conftest import SIGNING_SECRET
from tests.integration.approvals_concurrency_worker import click_many

PROCESSES, THREADS = 2, 30


@pytest.fixture
def moto_url(monkeypatch):
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    yield url
    server.stop()


def test_many_simultaneous_approvals_execute_once(moto_url, fake_slack, make_deps, tmp_path):
    db_path = str(tmp_path / "penny.db")
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "PENNY_DB": db_path,
        "PENNY_CONFIG": "",
        "PENNY_APPROVERS": f"{ALICE},{BOB}",
        "PENNY_DRY_RUN": "false",
    }
    deps = make_deps(
        store=open_store(db_path),
        **{k: v for k, v in env.items() if k.startswith("PENNY_") and k != "PENNY_DB"},
    )
    ec2 = boto3.Session().client("ec2")
    iid = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro"
    )["Instances"][0]["InstanceId"]
    request = get_engine(deps).request_action(
        "stop_ec2_instances", {"instance_ids": [iid]}, REQUESTER, "load test", "C0OPS"
    )
    card = request.cards[0]

    spawn = multiprocessing.get_context("spawn")
    start_together = spawn.Barrier(PROCESSES)
    results = spawn.Queue()
    children = [
        spawn.Process(
            target=click_many,
            args=(
                env,
                db_path,
                request.id,
                (card.channel, card.ts),
                [ALICE, BOB],
                THREADS,
                start_together,
                results,
            ),
        )
        for _ in range(PROCESSES)
    ]
    for child in children:
        child.start()
    reports = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0

    codes = sum((Counter(r["codes"]) for r in reports), Counter())
    stop_calls = sum(r["aws_calls"].get("StopInstances", 0) for r in reports)
    print(f"\nclicks={sum(codes.values())} codes={dict(codes)} StopInstances calls={stop_calls}")
    assert sum(codes.values()) == PROCESSES * THREADS
    assert codes["ok"] == 1
    assert stop_calls == 1
    final = st.get_request(deps.store, request.id)
    assert final.state == "succeeded"
    state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"][
        "Name"
    ]
    assert state in ("stopping", "stopped")
    audit = Counter(e["event"] for e in latest_audit(deps.store, 1000, request.id))
    assert (audit["approved"], audit["executing"], audit["succeeded"]) == (1, 1, 1)
    assert audit["click_refused"] == PROCESSES * THREADS - 1
    assert verify_audit_chain(deps.store)[0]

"""A child process for the concurrency test: many threads click Approve on one request.

Kept out of the test module so `multiprocessing` (spawn) can import it without pytest.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import boto3

from bot.app import build_deps
from bot.approvals_engine import get_engine
from bot.config import load_settings
from bot.core.approvals import CardLocation
from bot.store import open_store


def click_many(
    env: dict[str, str],
    db_path: str,
    request_id: str,
    card: tuple[str, str],
    approvers: list[str],
    threads: int,
    start_together: Any,
    results: Any,
) -> None:
    """Open the shared database, wait for every process, then click from `threads` threads.

    Puts {codes, aws_calls} on `results`: how each click ended, and how many mutating EC2
    calls this process made (counted on boto3's event system).
    """
    aws_calls: Counter[str] = Counter()
    lock = threading.Lock()

    def count(model: Any, **_: Any) -> None:
        with lock:
            aws_calls[model.name] += 1

    def session_factory() -> boto3.Session:
        session = boto3.Session()
        session.events.register("before-call.ec2.*", count)
        return session

    deps = build_deps(load_settings(env), store=open_store(db_path), aws=session_factory)
    engine = get_engine(deps)
    location = CardLocation(*card)
    codes: Counter[str] = Counter()
    ready = threading.Barrier(threads)

    def one_click(n: int) -> None:
        ready.wait()
        result = engine.handle_click(
            request_id, approvers[n % len(approvers)], "approve", card=location
        )
        with lock:
            codes[result.code] += 1

    start_together.wait()
    workers = [threading.Thread(target=one_click, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put({"codes": dict(codes), "aws_calls": dict(aws_calls)})

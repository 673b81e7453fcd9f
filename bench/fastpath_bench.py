"""Fast-path router: share of the corpus routed correctly and routing time per question.

Run: `.venv/bin/python -m bench.fastpath_bench` (or `python bench/fastpath_bench.py`).
Targets (issue 4): at least 90% routed correctly, median under 50 microseconds.

Times are per call of `route`, measured with timeit over the whole corpus. "warm" is the
steady state (the typo-correction cache already holds the corpus's typos); "cold" clears
that cache before every call, the worst case of a message full of new typos.
"""

from __future__ import annotations

import statistics
import sys
import timeit
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core import intents  # noqa: E402
from bot.core.intents import Intent, route  # noqa: E402
from tests.unit.fastpath_corpus import CORPUS, TODAY, Case  # noqa: E402

REPEATS = 25
CALLS_PER_SAMPLE = 20


def _previous(case: Case) -> Intent | None:
    return route(case.after, TODAY) if case.after else None


def _correct(case: Case, got: Intent) -> bool:
    return got.name == case.intent and all(got.args.get(k) == v for k, v in case.args.items())


def accuracy() -> tuple[float, dict[str, tuple[int, int]], list[str]]:
    """Overall share correct, (correct, total) per expected intent, and the misses."""
    totals: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    misses = []
    for case in CORPUS:
        got = route(case.text, TODAY, _previous(case))
        totals[case.intent] += 1
        if _correct(case, got):
            hits[case.intent] += 1
        else:
            misses.append(f"{case.text!r}: expected {case.intent}, got {got.name} {dict(got.args)}")
    per_intent = {name: (hits[name], totals[name]) for name in sorted(totals)}
    return sum(hits.values()) / len(CORPUS), per_intent, misses


def timings(cold: bool) -> list[float]:
    """Microseconds per `route` call: the best of REPEATS samples for each corpus question."""
    per_question = []
    for case in CORPUS:
        previous = _previous(case)
        if cold:

            def call(text: str = case.text, prev: Intent | None = previous) -> None:
                intents._correct.cache_clear()
                route(text, TODAY, prev)

        else:

            def call(text: str = case.text, prev: Intent | None = previous) -> None:
                route(text, TODAY, prev)

        samples = timeit.repeat(call, repeat=REPEATS, number=CALLS_PER_SAMPLE)
        per_question.append(min(samples) / CALLS_PER_SAMPLE * 1e6)
    return per_question


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main() -> None:
    share, per_intent, misses = accuracy()
    print(f"corpus: {len(CORPUS)} questions")
    print(f"routed correctly: {share:.1%} (target >= 90%)")
    for name, (hit, total) in per_intent.items():
        print(f"  {name:<15} {hit:>3}/{total:<3} {hit / total:6.1%}")
    for miss in misses:
        print(f"  miss: {miss}")
    route("warm up", TODAY)
    for label, cold in (("warm", False), ("cold typo cache", True)):
        micros = timings(cold)
        print(
            f"routing time ({label}): median {statistics.median(micros):.1f} us, "
            f"p99 {_p99(micros):.1f} us, max {max(micros):.1f} us (target median < 50 us)"
        )


if __name__ == "__main__":
    main()

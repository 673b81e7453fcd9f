"""PENNY_LLM=openai against a local OpenAI-compatible server (the shape vLLM, llama.cpp,
LM Studio and LiteLLM serve): streamed tool calls, tool results sent back, usage priced
from penny.toml, and a clear answer when the server refuses the key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.agent.providers import ProviderUnavailable, build_model
from bot.agent.service import STATUS_ANSWERED, STATUS_ERROR, answer_question, attach
from bot.agent.usage import usage_rows
from bot.aws.session import AwsSessionFactory
from bot.config import ConfigError
from bot.core.periods import add_months, first_of_month
from bot.devtools.demo_data import generate_demo_billing
from bot.devtools.fake_billing import FakeBillingServer
from bot.store import open_store
from tests.conftest import make_settings
from tests.fakes.fake_openai import FakeOpenAI

NOW = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)
TODAY = NOW.date()
LAST_MONTH = (add_months(first_of_month(TODAY), -1), first_of_month(TODAY))


@pytest.fixture
def billing(monkeypatch) -> Iterator[FakeBillingServer]:
    with FakeBillingServer(generate_demo_billing(TODAY)) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_COST_EXPLORER", server.url)
        yield server


def cost_tool_call() -> dict:
    start, end = LAST_MONTH
    return {
        "tool_calls": [
            {
                "id": "call_cost_1",
                "name": "cost_and_usage",
                "arguments": {
                    "start": str(start),
                    "end": str(end),
                    "group_by": "SERVICE",
                    "top": 3,
                },
            }
        ]
    }


def answer_with_top_service(body: dict) -> dict:
    [tool_message] = [m for m in body["messages"] if m["role"] == "tool"]
    content = tool_message["content"]
    raw = content if isinstance(content, str) else "".join(part.get("text", "") for part in content)
    data = json.loads(raw)
    top = data["groups"][0]
    return {
        "content": f"Top service: {top['key']} (${top['amount']:,.2f}) of ${data['total']:,.2f}."
    }


def build_deps(make_deps, tmp_path, fake: FakeOpenAI, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    config = tmp_path / "penny.toml"
    config.write_text('[llm.prices."fake-gpt"]\ninput = 2.0\noutput = 8.0\n', encoding="utf-8")
    deps = make_deps(
        store=open_store(":memory:"),
        clock=lambda: NOW,
        PENNY_LLM="openai",
        PENNY_LLM_MODEL="fake-gpt",
        PENNY_CONFIG=str(config),
    )
    deps.aws = AwsSessionFactory()
    attach(deps)
    return deps


def test_openai_compatible_server_drives_tools_and_usage(make_deps, tmp_path, billing, monkeypatch):
    with FakeOpenAI([cost_tool_call(), answer_with_top_service], usage=(1000, 50)) as fake:
        deps = build_deps(make_deps, tmp_path, fake, monkeypatch)
        reply = answer_question(
            deps, "what was our top service last month?", "UASKER01", "C0OPS", "1.000"
        )

    assert reply.status == STATUS_ANSWERED
    assert reply.text.startswith("Top service: ") and "$" in reply.text
    first, second = fake.requests
    assert first["model"] == "fake-gpt" and first["stream"] is True
    assert {t["function"]["name"] for t in first["tools"]} >= {
        "cost_and_usage",
        "search_logs",
        "stop_ec2_instances",
    }
    assert first["messages"][0]["role"] == "system"
    [assistant] = [m for m in second["messages"] if m["role"] == "assistant"]
    assert assistant["tool_calls"][0]["id"] == "call_cost_1"
    assert [m["tool_call_id"] for m in second["messages"] if m["role"] == "tool"] == ["call_cost_1"]
    [row] = usage_rows(deps.store, TODAY, TODAY)
    assert (row["provider"], row["model"]) == ("openai", "fake-gpt")
    assert (row["input_tokens"], row["output_tokens"]) == (2000, 100)
    assert row["cost_usd"] == pytest.approx((2000 * 2.0 + 100 * 8.0) / 1_000_000)
    assert billing.count("GetCostAndUsage") == 1


def test_a_refused_api_key_is_explained_not_raised(make_deps, tmp_path, billing, monkeypatch):
    with FakeOpenAI([{"content": "never sent"}], api_key="the-right-key") as fake:
        deps = build_deps(make_deps, tmp_path, fake, monkeypatch)
        reply = answer_question(deps, "top service?", "UASKER01", "C0OPS", "2.000")

    assert reply.status == STATUS_ERROR
    assert "credentials" in reply.text and "Traceback" not in reply.text
    [row] = usage_rows(deps.store, TODAY, TODAY)
    assert row["error"] and row["cost_usd"] == 0


@pytest.mark.parametrize("provider", ["anthropic", "ollama"])
def test_a_missing_provider_package_names_the_extra_to_install(provider, make_deps):
    pytest.importorskip("strands")
    try:
        __import__(provider)
    except ImportError:
        pass
    else:
        pytest.skip(f"{provider} is installed here")
    settings = make_settings(PENNY_LLM=provider)
    with pytest.raises(ProviderUnavailable, match=rf"pip install 'penny\[{provider}\]'"):
        build_model(settings)
    with pytest.raises(ConfigError, match=provider):
        attach(make_deps(PENNY_LLM=provider))

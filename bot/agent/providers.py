"""Which model answers questions: `PENNY_LLM` and `PENNY_LLM_MODEL`, turned into a Strands Model.

| PENNY_LLM | Strands model | package (extra) | configured by |
| --- | --- | --- | --- |
| `bedrock` | BedrockModel | boto3 (always installed) | the injected boto3 session (AWS_PROFILE, AWS_REGION...) |
| `openai` | OpenAIModel | `pip install 'penny[openai]'` | OPENAI_API_KEY, OPENAI_BASE_URL (vLLM, llama.cpp, LM Studio, LiteLLM) read by the openai client |
| `anthropic` | AnthropicModel | `pip install 'penny[anthropic]'` | ANTHROPIC_API_KEY read by the anthropic client |
| `ollama` | OllamaModel | `pip install 'penny[ollama]'` | OLLAMA_HOST read by the ollama client |
| `none` | no agent: the fast path only | | |

Provider packages are imported only when chosen, so a missing extra is a clear start-up
error (ProviderUnavailable) instead of an ImportError at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.config import Config

logger = logging.getLogger(__name__)

DEFAULT_MODELS = {
    "bedrock": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "openai": "gpt-4.1-mini",
    "anthropic": "claude-haiku-4-5",
    "ollama": "llama3.1",
}
EXTRAS = {"openai": "openai", "anthropic": "anthropic", "ollama": "ollama"}
MAX_OUTPUT_TOKENS = 2048
# Bedrock calls can be slow on long answers; retries are few so the per-question time
# limit, not boto3, decides when to give up.
BEDROCK_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=60
)


class ProviderUnavailable(Exception):
    """The LLM provider named by PENNY_LLM cannot be used: its package (extra) is not installed."""


@dataclass(frozen=True)
class ModelChoice:
    """The provider and model id Penny will use (recorded with every question's usage)."""

    provider: str
    model_id: str


def model_choice(settings: Any) -> ModelChoice | None:
    """The provider and model from Settings, or None when PENNY_LLM is `none`."""
    provider = (settings.llm or "none").lower()
    if provider == "none":
        return None
    return ModelChoice(provider, settings.llm_model or DEFAULT_MODELS[provider])


def build_model(settings: Any, aws: Callable[[], Any] | None = None) -> Any | None:
    """The Strands Model for Settings (None for `none`); raises ProviderUnavailable.

    Args:
        settings: Penny's Settings (`llm`, `llm_model`).
        aws: the boto3 session factory, used by the Bedrock provider only.
    """
    choice = model_choice(settings)
    if choice is None:
        return None
    builder = _BUILDERS[choice.provider]
    model = builder(choice.model_id, aws)
    logger.info("provider=<%s>, model=<%s> | LLM provider ready", choice.provider, choice.model_id)
    return model


def _missing(provider: str, exc: ImportError) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"PENNY_LLM={provider} needs the {provider} provider package, which is not installed "
        f"({exc.name or exc}). Install it with: pip install 'penny[{EXTRAS[provider]}]', "
        "or set PENNY_LLM to another provider (none, bedrock, openai, anthropic, ollama)."
    )


def _bedrock(model_id: str, aws: Callable[[], Any] | None) -> Any:
    from strands.models.bedrock import BedrockModel

    session = aws() if aws is not None else None
    return BedrockModel(
        boto_session=session,
        boto_client_config=BEDROCK_CLIENT_CONFIG,
        model_id=model_id,
        max_tokens=MAX_OUTPUT_TOKENS,
    )


def _openai(model_id: str, aws: Callable[[], Any] | None) -> Any:
    try:
        from strands.models.openai import OpenAIModel
    except ImportError as exc:
        raise _missing("openai", exc) from exc
    # No api_key/base_url here: the openai client reads OPENAI_API_KEY and OPENAI_BASE_URL.
    return OpenAIModel(client_args={}, model_id=model_id, params={"max_tokens": MAX_OUTPUT_TOKENS})


def _anthropic(model_id: str, aws: Callable[[], Any] | None) -> Any:
    try:
        from strands.models.anthropic import AnthropicModel
    except ImportError as exc:
        raise _missing("anthropic", exc) from exc
    return AnthropicModel(client_args={}, model_id=model_id, max_tokens=MAX_OUTPUT_TOKENS)


def _ollama(model_id: str, aws: Callable[[], Any] | None) -> Any:
    try:
        from strands.models.ollama import OllamaModel
    except ImportError as exc:
        raise _missing("ollama", exc) from exc
    return OllamaModel(None, model_id=model_id)


_BUILDERS: dict[str, Callable[[str, Callable[[], Any] | None], Any]] = {
    "bedrock": _bedrock,
    "openai": _openai,
    "anthropic": _anthropic,
    "ollama": _ollama,
}

"""The boto3 session factory and the retry configuration every AWS client uses.

boto3 resolves credentials, region and endpoints through its standard chain (AWS_PROFILE,
AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE> such as
AWS_ENDPOINT_URL_COST_EXPLORER), so nothing here reads the environment: the demo and the
tests point boto3 at a local endpoint the same way production would.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

# Cost Explorer and Budgets are global services served from us-east-1.
BILLING_REGION = "us-east-1"

# Standard mode retries throttling (incl. Cost Explorer's LimitExceededException) and
# transient errors with exponential back-off and jitter; timeouts keep a stuck call from
# holding a worker thread.
# botocore's `max_attempts` counts retries after the first call: 4 means 5 calls at most.
RETRY_MAX_ATTEMPTS = 4
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": RETRY_MAX_ATTEMPTS},
    connect_timeout=5,
    read_timeout=30,
)


class AwsSessionFactory:
    """Callable returning a boto3.Session; built once by the composition root and injected.

    A new Session per call keeps threads from sharing one (boto3 Sessions are not
    thread-safe); clients made from it are, and callers keep those. The sessions share one
    botocore data loader, so the service models (large JSON files) are parsed once per
    process instead of once per session.
    """

    def __init__(
        self, profile_name: str | None = None, region_name: str | None = None, **session_kwargs: Any
    ):
        self.profile_name = profile_name
        self.region_name = region_name
        self.session_kwargs = session_kwargs
        self._loader = botocore.loaders.create_loader()

    def __call__(self) -> boto3.Session:
        """A fresh boto3.Session resolved through boto3's standard chain."""
        core = botocore.session.get_session()
        core.register_component("data_loader", self._loader)
        return boto3.Session(
            botocore_session=core,
            profile_name=self.profile_name,
            region_name=self.region_name,
            **self.session_kwargs,
        )


def billing_client(session: boto3.Session, service: str, config: Config = RETRY_CONFIG) -> Any:
    """A client for a billing service (`ce`, `budgets`, `sts`) in us-east-1 with RETRY_CONFIG."""
    return session.client(service, region_name=BILLING_REGION, config=config)

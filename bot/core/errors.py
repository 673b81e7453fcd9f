"""Typed errors raised by the AWS cost adapters and understood by the core.

The adapter (bot/aws/cost_explorer.py) translates botocore errors into these, so the core
can explain them to people without importing botocore.
"""

from __future__ import annotations


class CostExplorerError(Exception):
    """Cost Explorer or Budgets answered with an error Penny has no specific explanation for."""

    def __init__(self, message: str, code: str = "", operation: str = ""):
        self.message = message
        self.code = code
        self.operation = operation
        super().__init__(message)


class CostAccessDenied(CostExplorerError):
    """The AWS identity Penny runs as lacks the IAM permission named in `permission`."""

    def __init__(self, permission: str, message: str = "", operation: str = ""):
        self.permission = permission
        super().__init__(
            message or f"access denied: needs {permission}", "AccessDeniedException", operation
        )


class CostThrottled(CostExplorerError):
    """AWS kept throttling the request after every retry (`attempts` in total)."""

    def __init__(self, attempts: int, message: str = "", operation: str = ""):
        self.attempts = attempts
        super().__init__(
            message or f"throttled after {attempts} attempts", "ThrottlingException", operation
        )


class CostDataUnavailable(CostExplorerError):
    """Cost Explorer has no data for the request (new account, too little history to forecast)."""


class CostRequestRejected(CostExplorerError):
    """AWS refused the request as invalid (for example a period older than the data it keeps)."""


class CostExplorerUnavailable(CostExplorerError):
    """AWS could not be reached or no credentials were found: nothing was asked."""


class CostAccountNotInScope(CostExplorerError):
    """The request names linked `accounts` outside the `[cost] accounts` Penny is configured for.

    Raised before anything is asked of AWS: a user only sees the accounts in scope.
    """

    def __init__(self, accounts: tuple[str, ...], operation: str = ""):
        self.accounts = accounts
        super().__init__(
            f"account {', '.join(accounts)} is not one Penny is configured for",
            "AccountNotInScope",
            operation,
        )

"""`chain`: several actions approved with one click, run in order, stopping at the first
failure; each step is reported (steps after a failure are reported as skipped).

Parameters: `{"steps": [{"action": "reboot_rds_instance", "params": {...}}, ...]}`.
Every step is validated with its own unit; the chain's risk is its riskiest step's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.actions.base import (
    OUTCOME_ERROR,
    OUTCOME_SKIPPED,
    ActionContext,
    ActionUnit,
    ParamError,
    Preview,
    ResourceOutcome,
    TargetChanged,
)

RISK_ORDER = ("low", "medium", "high")
MAX_STEPS = 5


class Chain(ActionUnit):
    """Run several action units in order under one approval."""

    name = "chain"
    title = "Chain of actions"
    risk = "high"

    def __init__(self, units: Mapping[str, ActionUnit]):
        self.units = units

    def describe_params(self) -> str:
        """Chain parameters."""
        return f"steps (a list of 1-{MAX_STEPS} {{action, params}}; actions: {', '.join(sorted(self.units))})"

    def check_params(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Each step names a known (non-chain) action and passes that action's schema."""
        steps = raw.get("steps") if isinstance(raw, Mapping) else None
        if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS or set(raw) != {"steps"}:
            raise ParamError(f"chain takes {self.describe_params()}")
        checked = []
        for number, step in enumerate(steps, 1):
            if not isinstance(step, Mapping) or set(step) - {"action", "params"}:
                raise ParamError(f"chain step {number} must be {{action, params}}")
            unit = self.units.get(str(step.get("action")))
            if unit is None:
                raise ParamError(
                    f"chain step {number}: unknown action {step.get('action')!r}; valid: {', '.join(sorted(self.units))}"
                )
            try:
                params = unit.check_params(step.get("params") or {})
            except ParamError as exc:
                raise ParamError(f"chain step {number}: {exc}") from exc
            checked.append({"action": unit.name, "params": params})
        return {"steps": checked}

    def _steps(self, params: Mapping[str, Any]) -> list[tuple[int, ActionUnit, dict[str, Any]]]:
        return [(n, self.units[s["action"]], s["params"]) for n, s in enumerate(params["steps"], 1)]

    def risk_for(self, params: Mapping[str, Any]) -> str:
        """The riskiest step's risk."""
        risks = [unit.risk_for(p) for _, unit, p in self._steps(params)]
        return max(risks, key=RISK_ORDER.index)

    def permissions_for(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Every step's permissions."""
        perms = [p for _, unit, sp in self._steps(params) for p in unit.permissions_for(sp)]
        return tuple(dict.fromkeys(perms))

    def preview(self, ctx: ActionContext, params: dict[str, Any]) -> Preview:
        """Each step's preview, numbered; the $ effect is the sum of the computable ones."""
        lines, expected, effects, summaries = [], {}, [], []
        for number, unit, step_params in self._steps(params):
            step = unit.preview(ctx, step_params)
            summaries.append(f"{number}) {step.summary}")
            lines.extend(f"{number}) {line}" for line in step.current_state)
            expected.update({f"{number}:{k}": v for k, v in step.expected.items()})
            if step.monthly_usd_effect is not None:
                effects.append(step.monthly_usd_effect)
        return Preview(
            summary="Run in order, stopping at the first failure: " + "; ".join(summaries),
            current_state=tuple(lines),
            monthly_usd_effect=round(sum(effects), 2) if effects else None,
            expected=expected,
            estimate_note="sum of the steps' estimates" if effects else "",
        )

    def validate(
        self, ctx: ActionContext, params: dict[str, Any], expected: Mapping[str, str]
    ) -> None:
        """Re-check every step before the first one runs."""
        for number, unit, step_params in self._steps(params):
            prefix = f"{number}:"
            mine = {k[len(prefix) :]: v for k, v in expected.items() if k.startswith(prefix)}
            try:
                unit.validate(ctx, step_params, mine)
            except TargetChanged as exc:
                raise TargetChanged(f"step {number} ({unit.name}): {exc}") from exc

    def execute(
        self, ctx: ActionContext, params: dict[str, Any], dry_run: bool
    ) -> list[ResourceOutcome]:
        """Run the steps in order; after a step with an error, the rest are skipped."""
        outcomes: list[ResourceOutcome] = []
        failed_at = 0
        for number, unit, step_params in self._steps(params):
            label = f"step {number} {unit.name}"
            if failed_at:
                outcomes.append(
                    ResourceOutcome(label, OUTCOME_SKIPPED, f"not run: step {failed_at} failed")
                )
                continue
            for outcome in unit.execute(ctx, step_params, dry_run):
                outcomes.append(
                    ResourceOutcome(
                        f"{label}: {outcome.resource_id}", outcome.status, outcome.detail
                    )
                )
                if outcome.status == OUTCOME_ERROR:
                    failed_at = number
        return outcomes

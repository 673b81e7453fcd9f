"""Every action_id, callback_id and block_id Penny uses, in one place.

Listeners match on these and builders emit them; a test checks they are unique.
"""

# Approval cards
APPROVE_ACTION = "penny_approve"
DENY_ACTION = "penny_deny"
DENY_REASON_MODAL = "penny_deny_reason"
DENY_REASON_BLOCK = "penny_deny_reason_block"
DENY_REASON_INPUT = "penny_deny_reason_input"
APPROVAL_CARD_BLOCK = "penny_approval_card"

# Scheduled findings
OPEN_APPROVAL_FROM_FINDING_ACTION = "penny_finding_request_approval"
BUDGET_DETAILS_ACTION = "penny_budget_details"
BUDGET_ALERT_BLOCK = "penny_budget_alert"
IDLE_FINDING_BLOCK_PREFIX = "penny_idle_finding:"

# Cost answers
COST_SOURCE_BLOCK = "penny_cost_source"

# Approval request ids (the only thing an Approve/Deny button carries)
APPROVAL_REQUEST_ID_PATTERN = r"apr-[0-9a-f]{16}"

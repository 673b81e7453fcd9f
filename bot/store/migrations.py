"""The ordered list of every migration, one named function each, owned by its area's module.

Numbering leaves room per area: m001-m009 foundation, m010-m019 approvals and audit,
m020-m029 agent sessions and usage, m030-m039 schedules. Never rename or reorder an
applied migration; add a new one.
"""

from bot.store import agent_tables, approvals, ask_threads, audit, core_tables, ledger

ALL_MIGRATIONS = [
    *core_tables.MIGRATIONS,
    *approvals.MIGRATIONS,
    *audit.MIGRATIONS,
    *agent_tables.MIGRATIONS,
    *ask_threads.MIGRATIONS,
    *ledger.MIGRATIONS,
]

"""The dependency direction is a rule, not a wish: bot/core imports nothing from the outside world."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
FORBIDDEN_IN_CORE = {
    "slack_sdk",
    "slack_bolt",
    "boto3",
    "botocore",
    "strands",
    "apscheduler",
    "sqlite_utils",
    "sqlite3",
    "handlers",
    "tools",
    "schedules",
    "bot.store",
    "bot.aws",
    "bot.agent",
    "bot.app",
    "bot.deps",
}


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_core_is_pure():
    offenders = []
    for path in (ROOT / "bot" / "core").rglob("*.py"):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_CORE):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_nothing_reads_the_environment_outside_the_entry_points():
    allowed = {"bot/__main__.py", "bot/console.py"}
    offenders = []
    for top in ("bot", "handlers", "tools", "schedules"):
        for path in (ROOT / top).rglob("*.py"):
            rel = str(path.relative_to(ROOT))
            if rel in allowed or rel.startswith("bot/devtools/"):
                continue
            if "os.environ" in path.read_text(encoding="utf-8") or "os.getenv" in path.read_text(
                encoding="utf-8"
            ):
                offenders.append(rel)
    assert offenders == []


def test_ids_are_unique():
    from bot.core import ids

    values = [v for k, v in vars(ids).items() if k.isupper()]
    assert len(values) == len(set(values))

"""The test tiers (docs/testing.md): every test is marked with its directory's tier, so
`pytest -m "unit or service or actions"` (make test-fast) needs no decorator on any test."""
from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
# Directory -> marker; each marker is registered in pytest.ini with what the tier needs.
TIERS = ("unit", "service", "actions", "conversation", "cluster", "browser", "security", "nlu")


def tier_of(path: Path) -> str:
    try:
        first = path.resolve().relative_to(TESTS).parts[0]
    except (ValueError, IndexError):
        return ""
    return first if first in TIERS else ""


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = tier_of(Path(str(item.fspath)))
        if not tier:
            raise pytest.UsageError(f"{item.nodeid}: a test outside the tier directories {', '.join(TIERS)}")
        item.add_marker(getattr(pytest.mark, tier))

"""The security level: attacks on the running services (the whole stack on free ports, as the
conversation tests start it), from the chat alone."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import List

import pytest

from tests.conversation.harness import RunningAssistant


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    # The conversation tests run the self-check; here conversations are long walks (it would replay
    # thousands of events at every turn).
    running = RunningAssistant(tmp_path_factory.mktemp("security"), self_check=False)
    try:
        yield running.start()
    finally:
        running.stop()


def stored_tracker_text(stack: RunningAssistant) -> str:
    """Everything the SQL tracker store holds, as one text (every column of every row)."""
    with sqlite3.connect(stack.workdir / "trackers.sqlite3") as connection:
        rows = connection.execute("SELECT * FROM events").fetchall()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def all_logs(stack: RunningAssistant) -> str:
    return "\n".join(path.read_text(errors="replace") for path in sorted(Path(stack.workdir).glob("*.log")))


def reply_texts(messages: List[dict]) -> str:
    return "\n".join(str(m.get("text", "")) + " " + str(m.get("image", "")) for m in messages)

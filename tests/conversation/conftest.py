import pytest

from tests.conversation.harness import RunningAssistant


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    running = RunningAssistant(tmp_path_factory.mktemp("assistant"))
    try:
        yield running.start()
    finally:
        running.stop()
    # Every conversation of the session ran with the trackers compared with Rasa's own replay.
    assert running.self_check_failures() == []

"""An action package for tests/service/test_action_server_errors.py: one action that always raises."""
from rasa_sdk import Action


class ActionThatRaises(Action):
    def name(self):
        return "action_that_raises"

    async def run(self, dispatcher, tracker, domain):
        typed = tracker.latest_message.get("text")
        raise ValueError(f"invalid literal for int(): {typed!r}")

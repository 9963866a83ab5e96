import asyncio
import re
from pathlib import Path

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionDefaultAskAffirmation, ActionHumanHandoff, intent_labels

ROOT = Path(__file__).resolve().parents[2]


PUBLIC_INTENTS = {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "help", "register_vaccine",
                  "not_registered", "download_certificate", "check_vaccination_status", "update_personal_info",
                  "change_name", "change_phone", "change_nik", "inform", "cancel", "human_handoff", "out_of_scope",
                  "faq"}


def test_every_public_intent_has_a_label():
    catalogue = ROOT.parent / "shared" / "intent-catalogue.md"  # beside the repository, where present
    public = set(re.findall(r"^\| (\w+) \|", catalogue.read_text(), re.MULTILINE)) - {"intent"} \
        if catalogue.exists() else PUBLIC_INTENTS
    assert public - {"inform", "out_of_scope"} <= set(intent_labels())  # never suggested
    assert {"register_vaccine", "download_certificate", "human_handoff"} <= set(intent_labels())


def test_did_you_mean_offers_the_likeliest_intents_with_their_labels():
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "change_name", "confidence": 0.4},
               {"name": "inform", "confidence": 0.3}, {"name": "update_personal_info", "confidence": 0.2},
               {"name": "download_certificate", "confidence": 0.1}, {"name": "greet", "confidence": 0.05}]
    tracker = Tracker("u", {}, {"text": "nama ubah", "intent_ranking": ranking}, [], False, None, {}, "")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionDefaultAskAffirmation().run(dispatcher, tracker, {}))
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_affirmation"
    assert [b["title"] for b in message["buttons"]] == [
        "Perbaiki nama di sertifikat", "Ubah data diri", "Unduh sertifikat vaksin", "Bukan semuanya"]
    assert [b["payload"] for b in message["buttons"]][:3] == ["/change_name", "/update_personal_info",
                                                            "/download_certificate"]


def test_handoff_marks_the_conversation_for_an_agent():
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionHumanHandoff().run(dispatcher, Tracker("u", {}, {}, [], False, None, {}, ""), {}))
    assert events == [{"event": "slot", "timestamp": None, "name": "handoff_requested", "value": True}]
    assert dispatcher.messages[0]["response"] == "utter_human_handoff"


def test_a_question_is_never_offered_as_a_button_without_its_topic():
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "faq", "confidence": 0.35},
               {"name": "register_vaccine", "confidence": 0.2}]
    tracker = Tracker("u", {}, {"text": "vaksin?", "intent_ranking": ranking}, [], False, None, {}, "")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionDefaultAskAffirmation().run(dispatcher, tracker, {}))
    assert "/faq" not in [b["payload"] for b in dispatcher.messages[0]["buttons"]]

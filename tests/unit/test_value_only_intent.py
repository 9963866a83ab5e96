"""ValueOnlyMessageClassifier: a message that is only a reference is `inform`, whatever DIET scored."""
import pytest
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message

from rasa_extensions.nlu.value_only_intent import ValueOnlyMessageClassifier, is_value_only

WANTED = frozenset({"submission_reference"})


def reference(start):
    return {"entity": "submission_reference", "value": "NKS-S3E6WX8J", "start": start, "end": start + 12}


@pytest.mark.parametrize("text, entities, expected", [
    ("NKS-S3E6WX8J", [reference(0)], True),
    ("  NKS-S3E6WX8J. ", [reference(2)], True),
    ("cek NKS-S3E6WX8J", [reference(4)], False),            # words around it: DIET decides
    ("NKS-S3E6WX8J 2", [reference(0)], False),              # a digit left over
    ("halo", [], False),
    ("123456", [{"entity": "number", "value": "123456", "start": 0, "end": 6}], False),  # not a wanted entity
    ("NKS-S3E6WX8J", [{"entity": "submission_reference", "value": "NKS-S3E6WX8J"}], False),  # no span
])
def test_only_wanted_values_with_nothing_else_count(text, entities, expected):
    assert is_value_only(text, entities, WANTED) is expected


def parsed(text, entities, ranking):
    message = Message(data={"text": text, "entities": entities,
                            "intent": dict(ranking[0]), "intent_ranking": [dict(r) for r in ranking]})
    ValueOnlyMessageClassifier(ValueOnlyMessageClassifier.get_default_config()).process([message])
    return message


def test_a_bare_reference_scored_under_the_fallback_threshold_becomes_a_sure_inform():
    message = parsed("NKS-S3E6WX8J", [reference(0)],
                     [{"name": "check_submission_status", "confidence": 0.41}, {"name": "inform", "confidence": 0.38}])
    assert message.get("intent") == {"name": "inform", "confidence": 1.0}
    assert message.get("intent_ranking") == [{"name": "inform", "confidence": 1.0}]


def test_the_fallback_classifier_then_finds_it_neither_unsure_nor_ambiguous():
    # DIET's raw scores for such a message: another intent within 0.1 of the first.
    message = parsed("NKS-2WTX9WXT", [reference(0)],
                     [{"name": "inform", "confidence": 0.97}, {"name": "check_submission_status", "confidence": 0.94}])
    fallback = FallbackClassifier(FallbackClassifier.get_default_config() | {"threshold": 0.45,
                                                                               "ambiguity_threshold": 0.1})
    fallback.process([message])
    assert message.get("intent")["name"] == "inform"


def test_any_other_message_keeps_diets_intent_and_ranking():
    ranking = [{"name": "check_submission_status", "confidence": 0.99}, {"name": "inform", "confidence": 0.01}]
    message = parsed("cek NKS-S3E6WX8J", [reference(4)], ranking)
    assert message.get("intent") == ranking[0]
    assert message.get("intent_ranking") == ranking

"""A message that is nothing but a typed value ("NKS-S3E6WX8J") is an answer: intent `inform`.

DIETClassifier scores such a message by its character n-grams, and a reference is eight random
characters: some of them look like no training example, and the FallbackClassifier then asked
"Maksud Anda …?" instead of looking the reference up. Whether a message is a bare value is an exact
question, so it is answered by rule here, after the value extractor and before the FallbackClassifier:

    pipeline:
      ...
      - name: rasa_extensions.nlu.value_extractor.IndonesianValueExtractor
      - name: EntitySynonymMapper
      - name: rasa_extensions.nlu.value_only_intent.ValueOnlyMessageClassifier
        entities: [submission_reference]   # values that are an answer when sent on their own
      - name: FallbackClassifier

Any other message keeps DIET's intent and ranking untouched.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

_WORD_CHARACTER = re.compile(r"\w")


def is_value_only(text: str, entities: List[Dict[str, Any]], wanted: frozenset) -> bool:
    """True when the wanted entities cover every letter and digit of the text (punctuation aside)."""
    spans = sorted((e["start"], e["end"]) for e in entities
                   if e.get("entity") in wanted and isinstance(e.get("start"), int) and isinstance(e.get("end"), int))
    if not spans:
        return False
    rest, position = [], 0
    for start, end in spans:
        rest.append(text[position:start])
        position = max(position, end)
    rest.append(text[position:])
    return not _WORD_CHARACTER.search("".join(rest))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ValueOnlyMessageClassifier(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "inform", "entities": ["submission_reference"]}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = str(config["intent"])
        self.entities = frozenset(config["entities"])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ValueOnlyMessageClassifier":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text and is_value_only(text, message.get(ENTITIES) or [], self.entities):
                self._classify_as_answer(message)
        return messages

    def _classify_as_answer(self, message: Message) -> None:
        # The rule is certain, so the ranking holds only its intent: DIET's scores for the others
        # (up to 0.97 for check_submission_status) would make the FallbackClassifier see two
        # intents within its ambiguity threshold and ask "Maksud Anda …?" after all.
        chosen = {"name": self.intent, "confidence": 1.0}
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(chosen)], add_to_output=True)

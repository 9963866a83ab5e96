"""A Rasa 3.6 graph component that extracts the values users type: NIK digits, phone numbers, OTP
codes, dates, names, menu numbers, submission references and professions.

    pipeline:
      ...
      - name: rasa_extensions.nlu.value_extractor.IndonesianValueExtractor
        lookup_tables: [profession]      # `lookup:` tables of the NLU data to extract from
      - name: EntitySynonymMapper        # maps lookup variants ("prwt") to one value ("perawat")

The rules live in indonesian_text/entities.py. Lookup tables are read from the training data,
where trainers edit them (data/nlu/lookups/), and stored in the model. Relative dates ("besok")
are resolved against today's date in Western Indonesian Time when the message is parsed.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from indonesian_text.dates import today_in_indonesia
from indonesian_text.entities import find_entities

LOOKUPS_FILE = "lookups.json"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class IndonesianValueExtractor(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"lookup_tables": ["profession"]}

    def __init__(self, config: Dict[Text, Any], lookups: Dict[str, Sequence[str]], model_storage: ModelStorage,
                 resource: Resource) -> None:
        self.config, self.lookups = config, lookups
        self._model_storage, self._resource = model_storage, resource

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "IndonesianValueExtractor":
        return cls(config, {}, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        wanted = set(self.config["lookup_tables"])
        self.lookups = {table["name"]: [str(element) for element in table["elements"]]
                        for table in training_data.lookup_tables if table["name"] in wanted}
        with self._model_storage.write_to(self._resource) as directory:
            (directory / LOOKUPS_FILE).write_text(json.dumps(self.lookups, ensure_ascii=False), encoding="utf-8")
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "IndonesianValueExtractor":
        try:
            with model_storage.read_from(resource) as directory:
                lookups = json.loads((directory / LOOKUPS_FILE).read_text(encoding="utf-8"))
        except ValueError:  # trained without lookup tables
            lookups = {}
        return cls(config, lookups, model_storage, resource)

    def process(self, messages: List[Message]) -> List[Message]:
        today = today_in_indonesia()
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            if not text:
                continue
            extracted = [{"entity": e.entity, "value": e.value, "start": e.start, "end": e.end,
                          "confidence_entity": 1.0} for e in find_entities(text, today, self.lookups)]
            message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(extracted),
                        add_to_output=True)
        return messages

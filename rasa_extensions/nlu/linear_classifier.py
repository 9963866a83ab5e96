"""Intents and FAQ topics by one linear model over TF-IDF-weighted n-grams (and sentence embeddings).

    pipeline:
      - name: WhitespaceTokenizer
      - name: CountVectorsFeaturizer            # word 1-2-grams
        max_ngram: 2
      - name: CountVectorsFeaturizer            # character 2-5-grams
        analyzer: char_wb
        min_ngram: 2
        max_ngram: 5
      - name: rasa_extensions.nlu.linear_classifier.LinearIntentClassifier
        C: 30
        retrieval_intent: faq
        min_topic_confidence: 0.3

Chosen by measurement over DIET and Rasa's LogisticRegressionClassifier (docs/nlu.md): on this data a
multinomial logistic regression over the same n-grams is more accurate, trains in seconds instead of
minutes, gives the same model whatever the random seed, and parses in well under a millisecond.

- Features: the sentence-level features of every featurizer before it, one block per featurizer. Sparse
  blocks (counts) get sublinear TF-IDF weighting learned on the training data; every block is scaled to
  unit length, dense blocks (sentence embeddings) then multiplied by `dense_weight`.
- Labels: the intent, except for examples of `retrieval_intent`, whose label is their topic
  (faq/<topic>): one flat model, so a question's topic and its intent are decided together. The
  intent's confidence is the sum over its topics.
- For a message classified as `retrieval_intent` it writes the response selector's output, as Rasa's
  ResponseSelector does (ActionRetrieveResponse reads it). A topic below `min_topic_confidence` is
  replaced by `not_covered_topic`, whose response says honestly that the assistant has no answer.
- The model is stored as plain arrays (numpy .npz, no pickle).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple, Type

import numpy as np
import scipy.sparse

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import (RESPONSE_SELECTOR_PREDICTION_KEY, RESPONSE_SELECTOR_PROPERTY_NAME,
                                RESPONSE_SELECTOR_RANKING_KEY, RESPONSE_SELECTOR_RESPONSES_KEY,
                                RESPONSE_SELECTOR_RETRIEVAL_INTENTS, RESPONSE_SELECTOR_UTTER_ACTION_KEY)
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import (INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, INTENT_RESPONSE_KEY,
                                       PREDICTED_CONFIDENCE_KEY, TEXT)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_model.npz"
META_FILE = "linear_model.json"
SENTENCE = "sentence"


# ------------------------------------------------------------------------------ the model, plain numpy
@dataclass
class FeatureBlocks:
    """How a message's feature blocks become one vector: which blocks, their IDF weights, their scale."""

    sparse_origins: List[str]
    dense_origins: List[str]
    idf: List[np.ndarray]
    dense_weight: float

    @classmethod
    def fit(cls, blocks: Dict[str, List[Any]], sparse_origins: List[str], dense_origins: List[str],
            dense_weight: float) -> "FeatureBlocks":
        idf = []
        for origin in sparse_origins:
            counts = scipy.sparse.vstack(blocks[origin]).tocsc()
            document_frequency = np.diff(counts.indptr) if counts.shape[0] else np.zeros(counts.shape[1])
            # sklearn's smoothed IDF: as if one extra document contained every n-gram once.
            idf.append(np.log((1 + counts.shape[0]) / (1 + document_frequency)) + 1.0)
        return cls(sparse_origins, dense_origins, idf, dense_weight)

    def transform(self, blocks: Dict[str, List[Any]], rows: int) -> scipy.sparse.csr_matrix:
        parts = []
        for origin, idf in zip(self.sparse_origins, self.idf):
            counts = scipy.sparse.vstack(blocks[origin]).tocsr().astype(np.float64) if rows else \
                scipy.sparse.csr_matrix((0, idf.shape[0]))
            counts.data = 1.0 + np.log(counts.data)  # sublinear term frequency
            parts.append(_unit_rows(counts.multiply(idf).tocsr()))
        for origin in self.dense_origins:
            dense = np.vstack(blocks[origin]).astype(np.float64)
            norms = np.linalg.norm(dense, axis=1, keepdims=True)
            parts.append(scipy.sparse.csr_matrix(self.dense_weight * dense / np.maximum(norms, 1e-12)))
        return scipy.sparse.hstack(parts).tocsr()


def _unit_rows(matrix: scipy.sparse.csr_matrix) -> scipy.sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    return scipy.sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix


def softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------- component
@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def required_components(cls) -> List[Type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "C": 30.0,                 # inverse regularization strength of the logistic regression
            "max_iter": 3000,
            "tol": 1e-3,               # the same predictions as 1e-4 on this data, in two thirds of the time
            "class_weight": None,      # or "balanced"
            "dense_weight": 2.0,       # scale of embedding blocks against the unit-length n-gram blocks
            "retrieval_intent": "faq",  # its examples are labelled by topic
            "not_covered_topic": "faq/not_covered",
            # The honest answer instead of the best topic when the not-covered label has at least this
            # share of the best topic's confidence (docs/nlu.md: measured against the out-of-knowledge set).
            "not_covered_ratio": 1.0,
            "min_topic_confidence": 0.0,
            "ranking_length": 10,
            # Ensemble: average the intent confidences with those an intent classifier earlier in the
            # pipeline (e.g. DIETClassifier with ranking_length 0) left on the message; this weight is ours.
            "ensemble_weight": 1.0,
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 blocks: Optional[FeatureBlocks] = None, labels: Sequence[str] = (),
                 coef: Optional[np.ndarray] = None, intercept: Optional[np.ndarray] = None,
                 responses: Optional[Dict[str, list]] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage, self._resource = model_storage, resource
        self.blocks, self.labels = blocks, list(labels)
        self.coef, self.intercept = coef, intercept
        self.responses = responses or {}
        self._index_labels()

    def _index_labels(self) -> None:
        # (features x labels), C-contiguous: scipy would copy a transposed view at every product.
        self._weights = np.ascontiguousarray(self.coef.T) if self.coef is not None else None
        retrieval = self.config["retrieval_intent"]
        self.intents = sorted({label.split("/", 1)[0] for label in self.labels})
        self._intent_of_label = np.array([self.intents.index(label.split("/", 1)[0]) for label in self.labels],
                                         dtype=np.int64)
        self._topic_labels = np.array([i for i, label in enumerate(self.labels)
                                       if retrieval and label.startswith(f"{retrieval}/")], dtype=np.int64)
        # position of each topic label within the topic probabilities
        self.labels_index = {self.labels[j]: i for i, j in enumerate(self._topic_labels)}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "LinearIntentClassifier":
        return cls(config, model_storage, resource)

    # -- training
    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            logger.warning("LinearIntentClassifier: no intent examples, nothing to train")
            return self._resource
        labels = [self._label(e) for e in examples]
        raw = [self._raw_blocks(e) for e in examples]
        sparse_origins = sorted({o for r in raw for o, (sparse, _) in r.items() if sparse})
        dense_origins = sorted({o for r in raw for o, (sparse, _) in r.items() if not sparse})
        grouped = {o: [r[o][1] for r in raw] for o in sparse_origins + dense_origins}
        self.blocks = FeatureBlocks.fit(grouped, sparse_origins, dense_origins, float(self.config["dense_weight"]))
        features = self.blocks.transform(grouped, len(examples))
        # lbfgs is deterministic: the same data give the same model, whatever the random seed.
        model = LogisticRegression(C=float(self.config["C"]), max_iter=int(self.config["max_iter"]),
                                   tol=float(self.config["tol"]), class_weight=self.config["class_weight"],
                                   solver="lbfgs")
        model.fit(features, labels)
        self.labels = [str(c) for c in model.classes_]
        self.coef, self.intercept = model.coef_, model.intercept_
        self.responses = {key: value for key, value in (training_data.responses or {}).items()
                          if key.startswith(f"utter_{self.config['retrieval_intent']}/")}
        self._index_labels()
        self.persist()
        return self._resource

    def _label(self, example: Message) -> str:
        retrieval = self.config["retrieval_intent"]
        if retrieval and example.get(INTENT) == retrieval and example.get(INTENT_RESPONSE_KEY):
            return str(example.get(INTENT_RESPONSE_KEY))
        return str(example.get(INTENT))

    @staticmethod
    def _raw_blocks(message: Message) -> Dict[str, Tuple[bool, Any]]:
        found: Dict[str, Tuple[bool, Any]] = {}
        for feature in message.features:
            if feature.attribute == TEXT and feature.type == SENTENCE:
                found[feature.origin] = (feature.is_sparse(), feature.features)
        return found

    # -- prediction
    def process(self, messages: List[Message]) -> List[Message]:
        if self.coef is None or not messages:
            return messages
        raw = [self._raw_blocks(m) for m in messages]
        grouped = {}
        for origin, idf in zip(self.blocks.sparse_origins, self.blocks.idf):
            grouped[origin] = [r[origin][1] if origin in r else scipy.sparse.csr_matrix((1, idf.shape[0]))
                               for r in raw]
        for origin in self.blocks.dense_origins:
            grouped[origin] = [r[origin][1] for r in raw]
        probabilities = softmax(np.asarray(self.blocks.transform(grouped, len(messages)) @ self._weights)
                                + self.intercept)
        for message, label_probabilities in zip(messages, probabilities):
            self._set_prediction(message, label_probabilities)
        return messages

    def _set_prediction(self, message: Message, label_probabilities: np.ndarray) -> None:
        intent_probabilities = np.bincount(self._intent_of_label, weights=label_probabilities,
                                           minlength=len(self.intents))
        weight = float(self.config["ensemble_weight"])
        previous = message.get(INTENT_RANKING_KEY)
        if weight < 1.0 and previous:
            earlier = {r[INTENT_NAME_KEY]: r[PREDICTED_CONFIDENCE_KEY] for r in previous}
            intent_probabilities = weight * intent_probabilities + (1 - weight) * np.array(
                [earlier.get(intent, 0.0) for intent in self.intents])
        order = np.argsort(-intent_probabilities)
        ranking = [{INTENT_NAME_KEY: self.intents[i], PREDICTED_CONFIDENCE_KEY: float(intent_probabilities[i])}
                   for i in order[: self.config["ranking_length"] or len(order)]]
        message.set(INTENT, dict(ranking[0]), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        if ranking[0][INTENT_NAME_KEY] == self.config["retrieval_intent"] and len(self._topic_labels):
            self._set_topic(message, label_probabilities)

    def _set_topic(self, message: Message, label_probabilities: np.ndarray) -> None:
        topic_probabilities = label_probabilities[self._topic_labels]
        topic_probabilities = topic_probabilities / max(topic_probabilities.sum(), 1e-12)
        order = np.argsort(-topic_probabilities)
        ranking = [{"id": int(self._topic_labels[i]), PREDICTED_CONFIDENCE_KEY: float(topic_probabilities[i]),
                    INTENT_RESPONSE_KEY: self.labels[self._topic_labels[i]]}
                   for i in order[: self.config["ranking_length"] or len(order)]]
        chosen, confidence = ranking[0][INTENT_RESPONSE_KEY], ranking[0][PREDICTED_CONFIDENCE_KEY]
        not_covered = self.config["not_covered_topic"]
        if chosen != not_covered:
            share = float(topic_probabilities[self.labels_index[not_covered]]) / max(confidence, 1e-12) \
                if not_covered in self.labels_index else 0.0
            if share >= float(self.config["not_covered_ratio"]) or \
                    confidence < float(self.config["min_topic_confidence"]):
                chosen = not_covered
        set_response_selection(message, self.config["retrieval_intent"], chosen, confidence, ranking,
                               self.responses)

    # -- storage
    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            arrays = {"coef": self.coef, "intercept": self.intercept}
            arrays.update({f"idf_{i}": idf for i, idf in enumerate(self.blocks.idf)})
            np.savez(directory / MODEL_FILE, **arrays)
            (directory / META_FILE).write_text(json.dumps({
                "labels": self.labels, "sparse_origins": self.blocks.sparse_origins,
                "dense_origins": self.blocks.dense_origins, "dense_weight": self.blocks.dense_weight,
                "responses": self.responses}, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "LinearIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
                with np.load(directory / MODEL_FILE, allow_pickle=False) as arrays:
                    idf = [arrays[f"idf_{i}"] for i in range(len(meta["sparse_origins"]))]
                    coef, intercept = arrays["coef"], arrays["intercept"]
        except (ValueError, FileNotFoundError):
            logger.warning("LinearIntentClassifier: no trained model found; it will predict nothing")
            return cls(config, model_storage, resource)
        blocks = FeatureBlocks(meta["sparse_origins"], meta["dense_origins"], idf, meta["dense_weight"])
        return cls(config, model_storage, resource, blocks, meta["labels"], coef, intercept, meta["responses"])


def set_response_selection(message: Message, retrieval_intent: str, topic: str, confidence: float,
                           ranking: List[dict], responses: Dict[str, list]) -> None:
    """The response selector's output, in the shape Rasa's ResponseSelector gives it."""
    utter_action = f"utter_{topic}"
    selection = message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}
    selection[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = [retrieval_intent]
    selection[retrieval_intent] = {
        RESPONSE_SELECTOR_PREDICTION_KEY: {
            RESPONSE_SELECTOR_RESPONSES_KEY: responses.get(utter_action) or [{TEXT: topic}],
            PREDICTED_CONFIDENCE_KEY: confidence,
            INTENT_RESPONSE_KEY: topic,
            RESPONSE_SELECTOR_UTTER_ACTION_KEY: utter_action,
        },
        RESPONSE_SELECTOR_RANKING_KEY: ranking,
    }
    message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selection, add_to_output=True)

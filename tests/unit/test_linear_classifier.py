"""LinearIntentClassifier: intents and FAQ topics from one model, the not-covered gate, storage."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_extensions.nlu.linear_classifier import FeatureBlocks, LinearIntentClassifier, softmax

# A toy vocabulary: each message is a bag of these words, as a featurizer's sentence counts.
VOCABULARY = ["halo", "daftar", "vaksin", "halal", "mui", "hamil", "ibu", "stok", "rendang", "resep"]
TRAINING = [
    ("halo", "greet", None), ("halo halo", "greet", None),
    ("daftar vaksin", "register_vaccine", None), ("daftar", "register_vaccine", None),
    ("vaksin halal", "faq", "faq/vaccine_halal"), ("halal mui", "faq", "faq/vaccine_halal"),
    ("ibu hamil vaksin", "faq", "faq/pregnancy"), ("hamil", "faq", "faq/pregnancy"),
    ("stok vaksin", "faq", "faq/not_covered"), ("stok", "faq", "faq/not_covered"),
    ("resep rendang", "out_of_scope", None), ("rendang", "out_of_scope", None),
]


def counts(text: str) -> scipy.sparse.coo_matrix:
    row = np.zeros((1, len(VOCABULARY)))
    for word in text.split():
        row[0, VOCABULARY.index(word)] += 1
    return scipy.sparse.coo_matrix(row)


def message(text: str, intent: str = None, topic: str = None) -> Message:
    data = {TEXT: text}
    if intent:
        data[INTENT] = intent
    if topic:
        data[INTENT_RESPONSE_KEY] = topic
    result = Message(data=data)
    result.add_features(Features(counts(text), "sentence", TEXT, "words"))
    return result


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage(tmp_path)


def trained(storage, **config) -> LinearIntentClassifier:
    resource = Resource("linear")
    classifier = LinearIntentClassifier.create({"C": 10.0, **config}, storage, resource,
                                               ExecutionContext(None, None))
    classifier.train(TrainingData([message(t, i, k) for t, i, k in TRAINING]))
    return classifier


def test_intent_and_topic_come_from_one_model(storage):
    classifier = trained(storage)
    greeting, question = classifier.process([message("halo"), message("halal mui vaksin")])
    assert greeting.get(INTENT)["name"] == "greet"
    assert question.get(INTENT)["name"] == "faq"
    selected = question.get("response_selector")["faq"]["response"]
    assert selected["intent_response_key"] == "faq/vaccine_halal"
    assert selected["utter_action"] == "utter_faq/vaccine_halal"
    # the intent's confidence is the sum over its topics, so it is at least the topic's share of the whole
    assert question.get(INTENT)["confidence"] == pytest.approx(
        sum(r["confidence"] for r in question.get("intent_ranking") if r["name"] == "faq"))


def test_a_message_of_another_intent_gets_no_topic(storage):
    (parsed,) = trained(storage).process([message("daftar vaksin")])
    assert parsed.get(INTENT)["name"] == "register_vaccine"
    assert parsed.get("response_selector") is None


def test_a_topic_not_far_ahead_of_not_covered_gets_the_honest_answer(storage):
    text = "ibu hamil stok"  # half pregnancy, half a question no topic covers
    (strict,) = trained(storage, not_covered_ratio=0.05).process([message(text)])
    (lenient,) = trained(storage, not_covered_ratio=1.0).process([message(text)])
    assert strict.get("response_selector")["faq"]["response"]["intent_response_key"] == "faq/not_covered"
    assert lenient.get("response_selector")["faq"]["response"]["intent_response_key"] == "faq/pregnancy"


def test_the_stored_model_predicts_as_the_trained_one(storage):
    classifier = trained(storage)
    loaded = LinearIntentClassifier.load({"C": 10.0}, storage, Resource("linear"), ExecutionContext(None, None))
    texts = ["halo", "vaksin halal", "ibu hamil", "resep rendang", "stok"]
    before = [m.get("intent_ranking") for m in classifier.process([message(t) for t in texts])]
    after = [m.get("intent_ranking") for m in loaded.process([message(t) for t in texts])]
    assert before == after


def test_training_twice_gives_the_same_model(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = trained(LocalModelStorage(tmp_path / "a"))
    second = trained(LocalModelStorage(tmp_path / "b"))
    assert np.array_equal(first.coef, second.coef)


def test_tf_idf_blocks_are_unit_length_and_weigh_rare_words_more():
    blocks = {"words": [counts("vaksin halal"), counts("vaksin"), counts("vaksin hamil")]}
    fitted = FeatureBlocks.fit(blocks, ["words"], [], dense_weight=1.0)
    matrix = fitted.transform(blocks, 3).toarray()
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0)
    first = matrix[0]
    assert first[VOCABULARY.index("halal")] > first[VOCABULARY.index("vaksin")]


def test_softmax_rows_sum_to_one():
    probabilities = softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, 0.0]]))
    assert np.allclose(probabilities.sum(axis=1), 1.0) and probabilities[1, 0] == pytest.approx(1.0)

"""The figures of `make evaluate` and the held-out leak check of `make check-data`."""
from __future__ import annotations

import pytest

from scripts.check_data import leaks
from scripts.evaluate_nlu import (Example, LinearPeer, Prediction, intent_macro_f1, is_honest_unknown,
                                  topic_macro_f1)


def test_intent_macro_f1_counts_a_fallback_as_a_miss_and_averages_over_the_sets_intents():
    examples = [Example("halo", "greet"), Example("vaksin", "register_vaccine")]
    right = [Prediction("greet", "-"), Prediction("register_vaccine", "-")]
    one_fallback = [Prediction("greet", "-"), Prediction("nlu_fallback", "-")]
    assert intent_macro_f1(examples, right) == 1.0
    assert intent_macro_f1(examples, one_fallback) == pytest.approx(0.5)  # greet 1.0, register_vaccine 0.0


def test_faq_topics_are_scored_end_to_end():
    examples = [Example("halal?", "faq/vaccine_halal"), Example("hamil?", "faq/pregnancy"), Example("halo", "greet")]
    # the second question was taken for another intent: its topic is wrong although no topic was predicted
    predictions = [Prediction("faq", "faq/vaccine_halal"), Prediction("greet", "-"), Prediction("greet", "-")]
    assert topic_macro_f1(examples, predictions) == pytest.approx(0.5)
    # a non-FAQ message given a topic counts against that topic's precision
    predictions = [Prediction("faq", "faq/vaccine_halal"), Prediction("faq", "faq/pregnancy"),
                   Prediction("faq", "faq/vaccine_halal")]
    assert topic_macro_f1(examples, predictions) == pytest.approx((2 / 3 + 1.0) / 2)


def test_only_honest_replies_count_for_out_of_knowledge_questions():
    assert is_honest_unknown(Prediction("faq", "faq/not_covered"))
    assert is_honest_unknown(Prediction("nlu_fallback", "-")) and is_honest_unknown(Prediction("out_of_scope", "-"))
    assert not is_honest_unknown(Prediction("faq", "faq/what_to_bring"))
    assert not is_honest_unknown(Prediction("register_vaccine", "-"))


def test_the_linear_peer_answers_intents_and_topics():
    training = [Example(t, l) for t, l in [("halo kak", "greet"), ("selamat pagi", "greet"),
                                           ("vaksin halal ga", "faq/vaccine_halal"), ("fatwa mui halal", "faq/vaccine_halal"),
                                           ("mau daftar vaksin", "register_vaccine"), ("daftar vaksinasi", "register_vaccine")]]
    peer = LinearPeer().fit(training)
    assert peer.predict(["apakah halal"]) == [Prediction("faq", "faq/vaccine_halal")]
    assert peer.predict(["halo"]) == [Prediction("greet", "-")]


def test_a_held_out_message_repeating_a_training_example_is_a_leak():
    training = {"register_vaccine": ["saya mau daftar vaksin sekarang"], "greet": ["halo"]}
    lexicon = {"sy": "saya", "mw": "mau"}
    held_out = {"test.yml": ["Saya mau daftar vaksin sekarang!",      # the same, typed again
                             "sy mw daftar vaksin sekarang",           # the same, rewritten in slang
                             "bagaimana cara mendaftar vaksinasi?",    # another sentence
                             "halo"]}                                  # too short to be said otherwise
    found = [text for _, text, _ in leaks(training, held_out, lexicon)]
    assert found == ["Saya mau daftar vaksin sekarang!", "sy mw daftar vaksin sekarang"]

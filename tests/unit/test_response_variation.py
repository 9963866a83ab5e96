"""A response is chosen as Rasa chooses it (rasa_speedups/response_variation.py)."""
from pathlib import Path

import numpy as np
import pytest
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain

import rasa_speedups
from rasa_speedups import response_variation

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def installed():
    """The response_variation speed-up, and nothing else, for this module's tests; Rasa's own code again afterwards."""
    with rasa_speedups.install_temporarily("response_variation"):
        yield


def rasas(generator, *args):
    return response_variation._rasas_random_response_for(generator, *args)


def test_installed_on_rasas_generator():
    assert TemplatedNaturalLanguageGenerator._random_response_for is response_variation.random_response_for


def test_every_response_of_the_domain_is_the_one_rasa_picks_on_every_channel():
    domain = Domain.load(str(ROOT / "domain"))
    generator = TemplatedNaturalLanguageGenerator(domain.responses)
    for name in domain.responses:
        for channel in ("rest", "whatsapp", "socketio", None):
            assert generator._random_response_for(name, channel, {}) is rasas(generator, name, channel, {})
    assert generator._random_response_for("utter_tidak_ada", "rest", {}) is None


def test_several_or_conditional_variations_are_drawn_by_rasas_code():
    responses = {
        "utter_several": [{"text": "Satu"}, {"text": "Dua"}, {"text": "Tiga"}],
        "utter_channel": [{"text": "Umum"}, {"text": "WhatsApp", "channel": "whatsapp"}],
        "utter_conditional": [{"text": "Nakes", "condition": [{"type": "slot", "name": "nakes", "value": True}]},
                              {"text": "Bukan"}],
    }
    generator = TemplatedNaturalLanguageGenerator(responses)
    for name in responses:
        for channel in ("rest", "whatsapp"):
            for slots in ({}, {"nakes": True}):
                np.random.seed(5)
                ours = [generator._random_response_for(name, channel, slots) for _ in range(20)]
                np.random.seed(5)
                theirs = [rasas(generator, name, channel, slots) for _ in range(20)]
                assert ours == theirs
    np.random.seed(5)
    assert len({generator._random_response_for("utter_several", "rest", {})["text"] for _ in range(30)}) == 3
    assert generator._random_response_for("utter_conditional", "rest", {"nakes": True})["text"] == "Nakes"
    assert generator._random_response_for("utter_channel", "whatsapp", {})["text"] == "WhatsApp"

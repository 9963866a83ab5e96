"""A response with one suitable variation is taken without drawing a random number.

Rasa 3.6 picks a response variation with `np.random.choice` even when only one variation fits,
and numpy's random generator releases the GIL: on a server whose NLU thread is computing, the
main thread then waits for the GIL to come back, once per bot message (8% of the main thread's
samples under load, docs/benchmark.md). Every response of this assistant has one variation, so
the one that fits is returned as it is; with several, Rasa's own code draws as before.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.nlg.generator import ResponseVariationFilter
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.constants import RESPONSE_CONDITION

_rasas_random_response_for = TemplatedNaturalLanguageGenerator._random_response_for


def random_response_for(self: TemplatedNaturalLanguageGenerator, utter_action: Text, output_channel: Text,
                        filled_slots: Dict[Text, Any]) -> Optional[Dict[Text, Any]]:
    if utter_action not in self.responses:
        return None
    suitable = ResponseVariationFilter(self.responses).responses_for_utter_action(
        utter_action, output_channel, filled_slots)
    if len(suitable) == 1 and not suitable[0].get(RESPONSE_CONDITION):
        return suitable[0]
    # None, several, or a conditional one (Rasa logs which conditions it matched): Rasa's own code.
    return _rasas_random_response_for(self, utter_action, output_channel, filled_slots)


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((TemplatedNaturalLanguageGenerator, "_random_response_for"),)


def install() -> None:
    TemplatedNaturalLanguageGenerator._random_response_for = random_response_for

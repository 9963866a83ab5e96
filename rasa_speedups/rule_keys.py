"""Decode each of the rule policy's rule keys once instead of at every check.

RulePolicy stores every learned rule as a JSON text key and, to find the rules that apply,
checks each key against each recent turn, decoding the key again with `json.loads` at every
check (`RulePolicy._rule_key_to_state`): several thousand decodings per prediction, several
predictions per message; 7% of the Rasa server's main thread under load. The keys are fixed by
the trained model, and both callers in Rasa only read the decoded states, so each key is decoded
once and the result reused (bounded cache: the model's keys, plus those seen while training).
"""
from __future__ import annotations

import functools
import json
from typing import List, Text

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.generator import State


@functools.lru_cache(maxsize=100_000)
def rule_key_to_state(rule_key: Text) -> List[State]:
    return json.loads(rule_key)


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((RulePolicy, "_rule_key_to_state"),)


def install() -> None:
    RulePolicy._rule_key_to_state = staticmethod(rule_key_to_state)

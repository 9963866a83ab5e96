"""Remember a tracker's past states until its event list changes.

Every rule-policy prediction featurizes the whole conversation twice (`RulePolicy._predict`
looks for a rule matching the last message's text, then for one matching its intent), and each
time `DialogueStateTracker.past_states` replays the conversation turn by turn
(`generate_all_prior_trackers`) to build one state per turn: the two passes compute the same
states, and the second pass only differs in how the featurizer then edits the last user turn.
Under load that featurization was 16% of the Rasa server's main thread (docs/benchmark.md).

The states are a function of the tracker's events (they are rebuilt from them by replay), the
domain and the three arguments, so they are kept until the event list changes
(`tracker_memo.event_list_memo`, as for `applied_events`): any appended or replaced event
recomputes them with Rasa's own code. Callers edit the states they get (the featurizer deletes
the last turn's text or intent), so each call gets its own copy of the dictionaries.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.shared.core.domain import Domain, State
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_speedups.tracker_memo import event_list_memo

_rasas_past_states = DialogueStateTracker.past_states
_MEMO = "_past_states_memo"


def copy_states(states: List[State]) -> List[State]:
    """A state maps sub-state names to dicts of immutable values (text, tuples, floats)."""
    return [{name: dict(sub_state) for name, sub_state in state.items()} for state in states]


def past_states(self: DialogueStateTracker, domain: Domain, omit_unset_slots: bool = False,
                ignore_rule_only_turns: bool = False,
                rule_only_data: Optional[Dict[Text, Any]] = None) -> List[State]:
    memo = event_list_memo(self, _MEMO)
    key = (id(domain), bool(omit_unset_slots), bool(ignore_rule_only_turns), id(rule_only_data))
    remembered = memo.get(key)
    if remembered is None or remembered[0] is not domain or remembered[1] is not rule_only_data:
        states = _rasas_past_states(self, domain, omit_unset_slots=omit_unset_slots,
                                    ignore_rule_only_turns=ignore_rule_only_turns, rule_only_data=rule_only_data)
        remembered = memo[key] = (domain, rule_only_data, copy_states(states))
    return copy_states(remembered[2])


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((DialogueStateTracker, "past_states"),)


def install() -> None:
    DialogueStateTracker.past_states = past_states

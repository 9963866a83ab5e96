"""Find the rules that match a conversation from remembered per-turn answers.

`RulePolicy._get_possible_keys` narrows the policy's rules (hundreds of keys here) turn by turn,
from the last turn backwards, asking `_is_rule_applicable(rule key, turn index, state)` for every
key still possible; it does so several times per prediction and several predictions per
message, and under load that was 8% of the Rasa server's main thread. The answer for one turn
depends only on the rule key, the turn's index and the turn's state (the state's features:
intent, slots, active loop, previous action), and the same states come back again and again
(every user of a flow passes through the same states), so the set of keys applicable at
(index, state) is remembered per rule table, computed over all its keys, and intersected:
the same result as Rasa's filter. Two limits keep it exact and private:
- no message text is kept: a state holding a user's text (the policy's end-to-end pass) is
  remembered with the text replaced by a placeholder, which is exact because a rule compares only
  the features it names and none names a text; a table with a rule on a text (end-to-end rules)
  has such states checked as Rasa does;
- a table's answers are computed over the keys it had when first seen and are dropped when it
  gains a key (rules are only added while the policy trains); at most MAX_REMEMBERED_STATES
  answers per table.
Narrowing stops once no key is left, or past the longest rule (where every key is applicable),
where Rasa's loop went on through the whole conversation without changing the result.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, List, Set, Text, Tuple

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import USER
from rasa.shared.core.domain import State
from rasa.shared.nlu.constants import TEXT

MAX_REMEMBERED_STATES = 20_000
_MEMO = "_applicable_rule_keys"
_SOME_TEXT = "<a user's text>"


def frozen_state(state: State):
    return frozenset((name, frozenset(sub_state.items())) for name, sub_state in state.items())


def without_text(state: State) -> State:
    return {name: (dict(sub_state, **{TEXT: _SOME_TEXT}) if name == USER else sub_state)
            for name, sub_state in state.items()}


class _RuleTable:
    """What is remembered for one rule table (a dict of the policy's lookup)."""

    def __init__(self, lookup: Dict[Text, Text], all_keys: Set[Text]) -> None:
        self.lookup = lookup
        self.keys = frozenset(all_keys)
        # Past the longest rule every key is applicable (`turn_index >= len(rule)`): nothing narrows.
        rules = [RulePolicy._rule_key_to_state(rule) for rule in all_keys]
        self.longest_rule = max((len(states) for states in rules), default=0)
        # A rule compares only the features it names; unless one names a user's text, a text's
        # value cannot change which rules match, only whether there is one.
        self.names_text = any(TEXT in (state.get(USER) or {}) for states in rules for state in states)
        self.remembered: Dict[Tuple[int, FrozenSet], FrozenSet[Text]] = {}


def _table(policy: RulePolicy, lookup: Dict[Text, Text], all_keys: Set[Text]) -> _RuleTable:
    tables = policy.__dict__.setdefault(_MEMO, {})
    table = tables.get(id(lookup))
    if table is None or table.lookup is not lookup or not all_keys <= table.keys:
        table = tables[id(lookup)] = _RuleTable(lookup, all_keys)
    return table


def _applicable_keys(policy: RulePolicy, table: _RuleTable, turn_index: int, state: State) -> FrozenSet[Text]:
    """The table's keys applicable at this turn (computed over all of them, so that intersecting
    with any subset of the table gives what filtering that subset would)."""
    key = (turn_index, frozen_state(state))
    applicable = table.remembered.get(key)
    if applicable is None:
        applicable = frozenset(rule for rule in table.keys if policy._is_rule_applicable(rule, turn_index, state))
        if len(table.remembered) >= MAX_REMEMBERED_STATES:
            table.remembered.clear()
        table.remembered[key] = applicable
    return applicable


def get_possible_keys(self: RulePolicy, lookup: Dict[Text, Text], states: List[State]) -> Set[Text]:
    all_keys = set(lookup.keys())
    table = _table(self, lookup, all_keys)
    possible_keys = set(all_keys)
    for index, state in enumerate(reversed(states)):
        if not possible_keys or index >= table.longest_rule:
            break
        if state.get(USER, {}).get(TEXT) is not None:
            if table.names_text:
                possible_keys = {rule for rule in possible_keys if self._is_rule_applicable(rule, index, state)}
            else:
                possible_keys &= _applicable_keys(self, table, index, without_text(state))
        else:
            possible_keys &= _applicable_keys(self, table, index, state)
    return possible_keys


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((RulePolicy, "_get_possible_keys"),)


def install() -> None:
    RulePolicy._get_possible_keys = get_possible_keys

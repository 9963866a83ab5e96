"""Rule matching from remembered per-turn answers (rasa_speedups/rule_matching.py) finds the
same rules as Rasa's RulePolicy._get_possible_keys, on random rule tables and conversations."""
import json
import random

import pytest
from rasa.core.policies.rule_policy import RulePolicy

import rasa_speedups
from rasa_speedups import rule_matching


@pytest.fixture(autouse=True, scope="module")
def installed():
    """The rule_matching speed-up, and nothing else, for this module's tests; Rasa's own code again afterwards."""
    with rasa_speedups.install_temporarily("rule_matching"):
        yield


def _rasas_get_possible_keys(policy, lookup, states):
    """Rasa 3.6's RulePolicy._get_possible_keys, as shipped."""
    possible_keys = set(lookup.keys())
    for i, state in enumerate(reversed(states)):
        possible_keys = set(filter(lambda _key: policy._is_rule_applicable(_key, i, state), possible_keys))
    return possible_keys


INTENTS = ["greet", "affirm", "deny", "register_vaccine", "inform"]
ACTIONS = ["action_listen", "utter_greet", "vaccine_registration_form", "action_route_typed_value"]
LOOPS = ["vaccine_registration_form", "pl_verification_form", "should_not_be_set"]
SLOTS = ["requested_slot", "pl_verified", "nik_suffix"]


def random_state(generator, with_text=False, rule=False):
    state = {}
    if generator.random() < 0.9:
        state["prev_action"] = {"action_name": generator.choice(ACTIONS)}
    if generator.random() < 0.6:
        state["user"] = {"intent": generator.choice(INTENTS)}
        if with_text:
            state["user"] = {"text": generator.choice(["ya", "halo", "482913"])}
    if generator.random() < 0.5:
        state["active_loop"] = {"name": generator.choice(LOOPS)}
    if generator.random() < 0.5:
        slot = generator.choice(SLOTS)
        value = generator.choice([(1.0,), (0.0,), (1.0, 0.0)])
        state["slots"] = {slot: list(value) if rule else value}
    return state


def random_table(generator, size):
    table = {}
    for _ in range(size):
        rule = [random_state(generator, rule=True) for _ in range(generator.randint(1, 4))]
        table[json.dumps(rule)] = generator.choice(ACTIONS)
    return table


def test_installed_on_rasas_rule_policy():
    assert RulePolicy._get_possible_keys is rule_matching.get_possible_keys


def test_same_rules_as_rasa_for_random_tables_and_conversations():
    generator = random.Random(2021)
    matched = 0
    for _ in range(40):
        lookup = random_table(generator, generator.randint(1, 60))
        ours, theirs = RulePolicy.__new__(RulePolicy), RulePolicy.__new__(RulePolicy)
        for _ in range(30):
            states = [random_state(generator) for _ in range(generator.randint(1, 8))]
            if generator.random() < 0.2:
                states[-1] = random_state(generator, with_text=True)
            if generator.random() < 0.3:   # a conversation that ends like one of the rules
                states = states + [dict(s, slots={k: tuple(v) for k, v in s.get("slots", {}).items()})
                                   for s in json.loads(generator.choice(list(lookup)))]
                states = [{k: v for k, v in s.items() if v} for s in states]
            expected = _rasas_get_possible_keys(theirs, lookup, states)
            assert rule_matching.get_possible_keys(ours, lookup, states) == expected
            assert rule_matching.get_possible_keys(ours, lookup, states) == expected   # remembered
            matched += bool(expected)
    assert matched > 50   # the comparison covered conversations that some rule matches


def test_no_message_text_is_remembered():
    generator = random.Random(5)
    lookup = random_table(generator, 30)
    rule = [{"prev_action": {"action_name": "utter_greet"}}, {"prev_action": {"action_name": "action_listen"}}]
    lookup[json.dumps(rule)] = "utter_greet"
    policy = RulePolicy.__new__(RulePolicy)
    states = [{"prev_action": {"action_name": "utter_greet"}},
              {"prev_action": {"action_name": "action_listen"}, "user": {"text": "482913"}}]
    assert json.dumps(rule) in rule_matching.get_possible_keys(policy, lookup, states)
    remembered = [key for table in policy.__dict__[rule_matching._MEMO].values() for key in table.remembered]
    assert remembered                                   # the turn before the message was remembered
    assert "482913" not in repr(remembered)             # the message's turn was not


def test_a_table_that_gained_a_rule_is_answered_afresh():
    generator = random.Random(9)
    lookup = random_table(generator, 20)
    policy = RulePolicy.__new__(RulePolicy)
    states = [random_state(generator) for _ in range(4)]
    rule_matching.get_possible_keys(policy, lookup, states)
    lookup[json.dumps([{k: {n: list(v) if isinstance(v, tuple) else v for n, v in s.items()}
                        for k, s in state.items()} for state in states[-2:]])] = "utter_greet"
    assert rule_matching.get_possible_keys(policy, lookup, states) == _rasas_get_possible_keys(policy, lookup, states)


def test_tables_with_rules_on_a_users_text_match_texts_as_rasa_does():
    generator = random.Random(13)
    policy, reference = RulePolicy.__new__(RulePolicy), RulePolicy.__new__(RulePolicy)
    for _ in range(20):
        lookup = random_table(generator, 20)
        for text in ("ya", "halo"):   # end-to-end rules: the text itself decides
            lookup[json.dumps([{"prev_action": {"action_name": "action_listen"}, "user": {"text": text}}])] = "utter_greet"
        for _ in range(20):
            states = [random_state(generator) for _ in range(3)] + [random_state(generator, with_text=True)]
            assert (rule_matching.get_possible_keys(policy, lookup, states)
                    == _rasas_get_possible_keys(reference, lookup, states))

"""Code that runs inside the Rasa server (not the action server): privacy-preserving tracker
storage, the atomic Redis lock store, NLU components, and fifteen speed-ups of Rasa 3.6 itself.

The speed-ups are installed whenever Rasa loads anything of this package (the tracker store of
every endpoints file, the NLU components of the model). All keep Rasa's behaviour and were found
by profiling the server under load (docs/benchmark.md):
- action_domain: custom-action calls carry the domain's forms and slots, not its responses;
- action_validation: one prepared JSON-schema validator for action-server replies instead of a
  new, schema-checked one per reply (a third of the server's CPU under load);
- event_types: event classes looked up by name in a table instead of a walk of all subclasses;
- slot_copy: slots copied by their attributes instead of through the pickle protocol;
- domain_checks: `Domain.is_empty()` against one empty domain made once, not one per message;
- endpoint_requests: calls to the action server on kept-alive connections, bodies encoded by ujson;
- applied_events: a tracker's applied events remembered until its event list changes;
- past_states: a tracker's past states remembered until its event list changes (the rule policy
  featurizes the same conversation twice per prediction);
- rule_matching: the rules applicable at a turn remembered per (turn index, state);
- rule_keys: the rule policy's rule keys decoded once instead of at every check;
- tracker_copy: a tracker copied from its state instead of by replaying its conversation (before
  every action and every form validation);
- tracker_state: `current_state()` copies the active loop by a walk that knows JSON's types,
  not by `dataclasses.asdict` (every custom-action call serializes the tracker);
- response_variation: the one response variation that fits is taken without a random draw
  (numpy's generator releases the GIL, and the main thread waits to get it back);
- graph_plans: the model's graph run from an execution plan made once per set of targets,
  instead of a new dask graph and schedule at every run;
- message_parsing: the NLU graph in its own thread, off the event loop, and the parse of a
  repeated impersonal text ("ya", "1", "Vaksin") reused.
"""
import logging

from rasa_extensions import (action_domain, action_validation, applied_events, domain_checks, endpoint_requests,
                             event_types, graph_plans, message_parsing, past_states, response_variation, rule_keys,
                             rule_matching, slot_copy, tracker_copy, tracker_state)

action_domain.install()
action_validation.install()
applied_events.install()
domain_checks.install()
endpoint_requests.install()
event_types.install()
graph_plans.install()
message_parsing.install()
past_states.install()
response_variation.install()
rule_keys.install()
rule_matching.install()
slot_copy.install()
tracker_copy.install()
tracker_state.install()

if tracker_copy.self_check_enabled():
    logging.getLogger(__name__).info(
        f"{tracker_copy.SELF_CHECK_ON} ({tracker_copy.SELF_CHECK_VARIABLE}): copied and retrieved trackers are "
        "compared with Rasa's replay")

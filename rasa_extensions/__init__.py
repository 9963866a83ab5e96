"""Code that runs inside the Rasa server (not the action server): privacy-preserving tracker
storage, the atomic Redis lock store, NLU components, and fifteen speed-ups of Rasa 3.6 itself.

The speed-ups are installed whenever Rasa loads anything of this package (the tracker store of
every endpoints file, the NLU components of the model), and only on the exact Rasa and rasa-sdk
versions they were written for (`SUPPORTED_VERSIONS`; any other refuses to start and says what to
do). `RASA_SPEEDUPS` chooses them: unset or `on` all, `off` none, `a,b` only those, `-a,-b` all but
those. All keep Rasa's behaviour and were found by profiling the server under load (docs/benchmark.md):
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
import os
from importlib import metadata
from typing import Dict, List

from rasa_extensions import (action_domain, action_validation, applied_events, domain_checks, endpoint_requests,
                             event_types, graph_plans, message_parsing, past_states, response_variation, rule_keys,
                             rule_matching, slot_copy, tracker_copy, tracker_state)

SPEEDUPS = {module.__name__.rsplit(".", 1)[1]: module for module in (
    action_domain, action_validation, applied_events, domain_checks, endpoint_requests, event_types, graph_plans,
    message_parsing, past_states, response_variation, rule_keys, rule_matching, slot_copy, tracker_copy,
    tracker_state)}
SWITCH_VARIABLE = "RASA_SPEEDUPS"
# The versions whose code the patches replace (several copy Rasa function bodies; tests pin their source).
SUPPORTED_VERSIONS = {"rasa": "3.6.21", "rasa-sdk": "3.6.2"}
log = logging.getLogger(__name__)


def selected_speedups(setting: str) -> List[str]:
    """The speed-ups a RASA_SPEEDUPS value turns on, in installation order."""
    value = (setting or "").strip().lower()
    if value in ("", "on", "all", "1"):
        return list(SPEEDUPS)
    if value in ("off", "none", "0"):
        return []
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted({name.lstrip("-") for name in names} - set(SPEEDUPS))
    if unknown:
        raise ValueError(f"{SWITCH_VARIABLE}: unknown speed-up(s) {', '.join(unknown)}; known: {', '.join(SPEEDUPS)}")
    excluded = [name for name in names if name.startswith("-")]
    if excluded and len(excluded) != len(names):
        raise ValueError(f"{SWITCH_VARIABLE}: either names to install or -names to leave out, not both")
    if excluded:
        return [name for name in SPEEDUPS if f"-{name}" not in excluded]
    return [name for name in SPEEDUPS if name in names]


def version_mismatches(installed: Dict[str, str]) -> List[str]:
    return [f"{package} {installed.get(package)} (written for {version})"
            for package, version in SUPPORTED_VERSIONS.items() if installed.get(package) != version]


def _installed_versions() -> Dict[str, str]:
    found = {}
    for package in SUPPORTED_VERSIONS:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def install_speedups(setting: str) -> List[str]:
    names = selected_speedups(setting)
    if names:
        mismatches = version_mismatches(_installed_versions())
        if mismatches:
            raise RuntimeError(
                "rasa_extensions: the speed-ups replace code of exact Rasa versions and found "
                + "; ".join(mismatches) + f". Start with {SWITCH_VARIABLE}=off to run without them, or check each "
                "patch against the new Rasa (docs/benchmark.md) and update SUPPORTED_VERSIONS.")
    for name in names:
        SPEEDUPS[name].install()
    log.info("Rasa speed-ups installed: %s", ", ".join(names) if names else f"none ({SWITCH_VARIABLE}=off)")
    return names


INSTALLED = install_speedups(os.environ.get(SWITCH_VARIABLE, ""))

if tracker_copy.self_check_enabled():   # the SQL tracker store checks the trackers it keeps, speed-ups or not
    log.info(
        f"{tracker_copy.SELF_CHECK_ON} ({tracker_copy.SELF_CHECK_VARIABLE}): copied and retrieved trackers are "
        "compared with Rasa's replay")

"""Eleven speed-ups of Rasa 3.6 internals: the code of this repository that replaces Rasa's own.

Everything else the Rasa server runs of this repository goes through Rasa's supported extension
points (`rasa_extensions/`: tracker stores, lock store, NLU components). These modules instead
replace methods of Rasa's classes, found by profiling the server under load (docs/benchmark.md),
and keep Rasa's behaviour. Importing this package installs NOTHING: only the launcher does,

    python -m rasa_speedups run ...      # the arguments of `rasa run`

which installs the speed-ups `RASA_SPEEDUPS` chooses (unset or `on` all, `off` none, `a,b` only
those, `-a,-b` all but those), logs which, then runs Rasa's own CLI. `rasa train`, `rasa test`
and the data checks run plain Rasa. They install only on the exact Rasa and rasa-sdk versions
they were written for (`SUPPORTED_VERSIONS`; four copy a Rasa function body, whose source
tests/unit/test_speedup_switch.py pins): on any other the launcher refuses to start and says
what to do. Tests install exactly the ones they test, with `install_temporarily`.

The speed-ups (each module's REPLACES names the Rasa attributes it replaces). Four more (cached
applied events and past states, remembered rule matches, decoded rule keys) were removed: together
they gained 2% at capacity, within the run-to-run noise (docs/benchmark.md).
- action_domain: custom-action calls carry the domain's forms and slots, not its responses;
- action_validation: one prepared JSON-schema validator for action-server replies instead of a
  new, schema-checked one per reply (a third of the server's CPU under load);
- event_types: event classes looked up by name in a table instead of a walk of all subclasses;
- slot_copy: slots copied by their attributes instead of through the pickle protocol;
- domain_checks: `Domain.is_empty()` against one empty domain made once, not one per message;
- endpoint_requests: calls to the action server on kept-alive connections, bodies encoded by ujson;
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
from __future__ import annotations

import contextlib
import logging
from importlib import metadata
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from rasa_speedups import (action_domain, action_validation, domain_checks, endpoint_requests, event_types,
                           graph_plans, message_parsing, response_variation, slot_copy, tracker_copy, tracker_state)

SPEEDUPS = {module.__name__.rsplit(".", 1)[1]: module for module in (
    action_domain, action_validation, domain_checks, endpoint_requests, event_types, graph_plans,
    message_parsing, response_variation, slot_copy, tracker_copy,
    tracker_state)}
SWITCH_VARIABLE = "RASA_SPEEDUPS"
# The versions whose code the patches replace (several copy Rasa function bodies; tests pin their source).
SUPPORTED_VERSIONS = {"rasa": "3.6.21", "rasa-sdk": "3.6.2"}
INSTALLED: List[str] = []   # what `install` installed in this process, in order
log = logging.getLogger(__name__)
_ABSENT = object()


def selected_speedups(setting: Optional[str]) -> List[str]:
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


def version_mismatches(installed: Dict[str, Optional[str]]) -> List[str]:
    return [f"{package} {installed.get(package)} (written for {version})"
            for package, version in SUPPORTED_VERSIONS.items() if installed.get(package) != version]


def _installed_versions() -> Dict[str, Optional[str]]:
    found: Dict[str, Optional[str]] = {}
    for package in SUPPORTED_VERSIONS:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def check_versions() -> None:
    """Raises RuntimeError (naming RASA_SPEEDUPS=off) unless Rasa and rasa-sdk are the supported versions."""
    mismatches = version_mismatches(_installed_versions())
    if mismatches:
        raise RuntimeError(
            "rasa_speedups: the speed-ups replace code of exact Rasa versions and found "
            + "; ".join(mismatches) + f". Start with {SWITCH_VARIABLE}=off to run without them, or check each "
            "patch against the new Rasa (rasa_speedups/, docs/benchmark.md) and update SUPPORTED_VERSIONS.")


def install(names: Iterable[str]) -> List[str]:
    """Installs these speed-ups (in registry order) after the version check; returns their names."""
    wanted = list(names)
    unknown = sorted(set(wanted) - set(SPEEDUPS))
    if unknown:
        raise ValueError(f"unknown speed-up(s) {', '.join(unknown)}; known: {', '.join(SPEEDUPS)}")
    ordered = [name for name in SPEEDUPS if name in wanted]
    if ordered:
        check_versions()
    for name in ordered:
        SPEEDUPS[name].install()
        if name not in INSTALLED:
            INSTALLED.append(name)
    return ordered


def install_speedups(setting: Optional[str]) -> List[str]:
    """Installs what a RASA_SPEEDUPS value chooses (the launcher passes the environment's)."""
    return install(selected_speedups(setting))


def replaced_attributes(name: str) -> Tuple[Tuple[Any, str], ...]:
    """The (Rasa class, attribute) pairs a speed-up replaces."""
    return SPEEDUPS[name].REPLACES


def is_rasas(owner: Any, attribute: str) -> bool:
    """Whether `owner.attribute` is Rasa's own: defined by Rasa under that name, or absent (Slot.__copy__)."""
    value = owner.__dict__.get(attribute, _ABSENT)
    if value is _ABSENT:
        return True
    function = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
    return (getattr(function, "__module__", "").split(".")[0] == "rasa"
            and getattr(function, "__qualname__", None) == f"{owner.__qualname__}.{attribute}")


def active_speedups() -> List[str]:
    """The speed-ups whose replacements are in place now (read from Rasa's classes, not from INSTALLED)."""
    return [name for name in SPEEDUPS
            if any(not is_rasas(owner, attribute) for owner, attribute in replaced_attributes(name))]


@contextlib.contextmanager
def restoring(names: Iterable[str]) -> Iterator[None]:
    """Puts back, after the `with` block, what the attributes these speed-ups replace were before it."""
    saved = [(owner, attribute, owner.__dict__.get(attribute, _ABSENT))
             for name in names for owner, attribute in replaced_attributes(name)]
    installed_before = list(INSTALLED)
    try:
        yield
    finally:
        for owner, attribute, value in reversed(saved):
            if value is _ABSENT:
                if attribute in owner.__dict__:
                    delattr(owner, attribute)
            else:
                setattr(owner, attribute, value)
        INSTALLED[:] = installed_before


@contextlib.contextmanager
def install_temporarily(*names: str) -> Iterator[List[str]]:
    """Installs these speed-ups for a `with` block, then puts back what was there (for tests)."""
    with restoring(names):
        yield install(names)

"""The speed-ups of Rasa 3.6 (rasa_extensions/__init__.py): the RASA_SPEEDUPS switch, the exact-version
guard, and pins of the Rasa function bodies four of them copy, so an upgrade fails here loudly
instead of running stale copies."""
from __future__ import annotations

import ast
import hashlib
import importlib.util

import pytest

import rasa_extensions
from rasa_extensions import SPEEDUPS, install_speedups, selected_speedups, version_mismatches


@pytest.mark.parametrize("setting", ["", "on", "ALL", " on "])
def test_all_by_default(setting):
    assert selected_speedups(setting) == list(SPEEDUPS)


@pytest.mark.parametrize("setting", ["off", "OFF", "none", "0"])
def test_off_turns_every_one_off(setting):
    assert selected_speedups(setting) == []


def test_a_list_installs_those_and_minus_names_leave_those_out():
    assert selected_speedups("slot_copy, event_types") == ["event_types", "slot_copy"]
    left = selected_speedups("-graph_plans,-message_parsing")
    assert "graph_plans" not in left and "message_parsing" not in left and len(left) == len(SPEEDUPS) - 2


@pytest.mark.parametrize("setting", ["slot_copyy", "-nothing", "slot_copy,-event_types"])
def test_a_mistyped_or_mixed_switch_is_refused_with_the_names(setting):
    with pytest.raises(ValueError, match="RASA_SPEEDUPS"):
        selected_speedups(setting)


def test_another_rasa_version_refuses_to_start_and_says_what_to_do(monkeypatch):
    monkeypatch.setattr(rasa_extensions, "_installed_versions", lambda: {"rasa": "3.6.22", "rasa-sdk": "3.6.2"})
    with pytest.raises(RuntimeError, match=r"rasa 3\.6\.22 \(written for 3\.6\.21\).*RASA_SPEEDUPS=off"):
        install_speedups("")
    assert install_speedups("off") == []        # switched off, any version runs


def test_the_installed_versions_are_the_supported_ones():
    assert version_mismatches(rasa_extensions._installed_versions()) == []


# Rasa functions whose bodies a speed-up copies and edits (module, class, function) -> sha256 prefix of
# the function's source in the pinned Rasa. A different hash: read the new Rasa function, carry the
# change into the copy (or drop the speed-up), then update the pin.
COPIED = {
    ("rasa.utils.endpoints", "EndpointConfig", "request"): ("endpoint_requests", "bc49eb77a158ac1e"),
    ("rasa.core.processor", "MessageProcessor", "parse_message"): ("message_parsing", "1cd8ac2218759de2"),
    ("rasa.shared.core.trackers", "DialogueStateTracker", "current_state"): ("tracker_state", "653e065543ece9c9"),
    ("rasa.engine.runner.dask", "DaskGraphRunner", "run"): ("graph_plans", "ce0438b9b8e79330"),
}


def _source_hash(module: str, cls: str, function: str) -> str:
    # Read from the file, not the class: the class attribute is the installed copy.
    path = importlib.util.find_spec(module).origin
    source = open(path, encoding="utf-8").read()
    klass = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef) and n.name == cls)
    node = next(n for n in klass.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == function)
    return hashlib.sha256(ast.get_source_segment(source, node).encode()).hexdigest()[:16]


@pytest.mark.parametrize("target", sorted(COPIED))
def test_the_rasa_code_a_speed_up_copies_is_the_code_it_was_copied_from(target):
    speedup, pinned = COPIED[target]
    assert speedup in SPEEDUPS
    assert _source_hash(*target) == pinned, f"{'.'.join(target)} changed in Rasa: review rasa_extensions/{speedup}.py"

"""The speed-ups of Rasa 3.6 (rasa_speedups/): installed by nothing but the launcher
(`python -m rasa_speedups run`), the RASA_SPEEDUPS switch, the exact-version guard, and pins of the
Rasa function bodies four of them copy, so an upgrade fails here loudly instead of running stale
copies."""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rasa_speedups
from rasa_speedups import (SPEEDUPS, active_speedups, install_speedups, replaced_attributes, selected_speedups,
                           version_mismatches)
from rasa_speedups import __main__ as launcher

ROOT = Path(__file__).resolve().parents[2]


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
    monkeypatch.setattr(rasa_speedups, "_installed_versions", lambda: {"rasa": "3.6.22", "rasa-sdk": "3.6.2"})
    with pytest.raises(RuntimeError, match=r"rasa 3\.6\.22 \(written for 3\.6\.21\).*RASA_SPEEDUPS=off"):
        install_speedups("")
    assert active_speedups() == []              # refused before installing any
    assert install_speedups("off") == []        # switched off, any version runs


def test_the_installed_versions_are_the_supported_ones():
    assert version_mismatches(rasa_speedups._installed_versions()) == []


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
    assert _source_hash(*target) == pinned, f"{'.'.join(target)} changed in Rasa: review rasa_speedups/{speedup}.py"


# Every other Rasa function a speed-up replaces: wrapped (the speed-up calls Rasa's for the cases it
# leaves alone) or rewritten to give the same answers. Nothing is copied, but a change in Rasa can
# still make the speed-up answer differently, so an upgrade must have each one re-read too.
REPLACED = {
    ("rasa.core.actions.action", "RemoteAction", "_action_call_format"): ("action_domain", "b8da18ca9f78d3ae"),
    ("rasa.core.actions.action", "RemoteAction", "_validate_action_result"): ("action_validation", "24da0f6bdeb2d44f"),
    ("rasa.shared.core.domain", "Domain", "is_empty"): ("domain_checks", "95485f444497dba7"),
    ("rasa.shared.core.events", "Event", "resolve_by_type"): ("event_types", "ffabe9999fc8f7f3"),
    ("rasa.core.nlg.response", "TemplatedNaturalLanguageGenerator", "_random_response_for"):
        ("response_variation", "cb4586c3a2856311"),
    ("rasa.shared.core.trackers", "DialogueStateTracker", "copy"): ("tracker_copy", "ee85e538659b5a76"),
    ("rasa.core.actions.forms", "FormAction", "_temporary_tracker"): ("tracker_copy", "01ff5ba740924b1c"),
    ("rasa.core.processor", "MessageProcessor", "_predict_next_with_tracker"): ("tracker_copy", "fd0f1c54fde6185f"),
}


@pytest.mark.parametrize("target", sorted(REPLACED))
def test_the_rasa_code_a_speed_up_replaces_is_the_code_it_was_written_against(target):
    speedup, pinned = REPLACED[target]
    assert _source_hash(*target) == pinned, f"{'.'.join(target)} changed in Rasa: review rasa_speedups/{speedup}.py"


def test_every_replaced_rasa_function_is_pinned():
    declared = {(owner.__module__, owner.__name__, attribute): name
                for name in SPEEDUPS for owner, attribute in replaced_attributes(name)}
    not_defined_by_rasa = {("rasa.shared.core.slots", "Slot", "__copy__")}   # slot_copy adds it
    assert {target: speedup for target, (speedup, _) in {**COPIED, **REPLACED}.items()} == {
        target: name for target, name in declared.items() if target not in not_defined_by_rasa}


# --- nothing installs them but the launcher -------------------------------------------------------------

def _run_python(code_or_args, **env):
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **env))


def test_no_module_of_rasa_extensions_imports_rasa_speedups():
    importers = []
    for path in sorted((ROOT / "rasa_extensions").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name.split(".")[0] == "rasa_speedups" for name in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []


def test_loading_the_extensions_as_rasa_does_installs_nothing():
    """In a fresh interpreter: the tracker stores of an endpoints file and the NLU components of
    config.yml, loaded as `rasa run` / `rasa train` load them; every replaced attribute stays Rasa's."""
    result = _run_python(
        "import sys, tempfile\n"
        "from rasa.core.tracker_store import TrackerStore\n"
        "from rasa.shared.core.domain import Domain\n"
        "from rasa.utils.endpoints import EndpointConfig\n"
        "import rasa_extensions.lock_store\n"
        "import rasa_extensions.nlu.normalizer, rasa_extensions.nlu.value_extractor, rasa_extensions.nlu.linear_classifier\n"
        "import rasa_extensions.nlu.faq_selector, rasa_extensions.nlu.value_only_intent, rasa_extensions.nlu.token_budget\n"
        "db = tempfile.mktemp(suffix='.sqlite3')\n"
        "store = TrackerStore.create(EndpointConfig.from_dict({'type': 'rasa_extensions.tracker_store.RedactingTrackerStore',"
        " 'inner': {'type': 'rasa_extensions.sql_tracker_store.IncrementalSQLTrackerStore', 'dialect': 'sqlite', 'db': db}}),"
        " Domain.load('domain'))\n"
        "assert type(store).__name__ == 'RedactingTrackerStore', store\n"
        "assert not [m for m in sys.modules if m.startswith('rasa_speedups')], 'rasa_speedups was imported'\n"
        "import rasa_speedups\n"
        "print('active:', rasa_speedups.active_speedups())\n")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "active: []" in result.stdout


def test_importing_rasa_speedups_installs_nothing_and_each_install_replaces_what_it_declares():
    assert active_speedups() == []          # importing the package (this module did) installed nothing
    classes = {owner for name in SPEEDUPS for owner, _ in replaced_attributes(name)}
    for name in SPEEDUPS:
        before = {owner: dict(vars(owner)) for owner in classes}
        with rasa_speedups.install_temporarily(name) as installed:
            assert installed == [name] and active_speedups() == [name]
            changed = {(owner, attribute) for owner in classes for attribute in set(vars(owner)) | set(before[owner])
                       if vars(owner).get(attribute) is not before[owner].get(attribute)}
            assert changed == set(replaced_attributes(name)), name
        assert active_speedups() == []
        assert all(vars(owner).get(attribute) is before[owner].get(attribute)
                   for owner, attribute in replaced_attributes(name)), f"{name}: Rasa's code not put back"


def test_the_memo_attributes_the_self_check_ignores_are_those_the_speed_ups_set():
    from rasa_extensions.tracker_check import SPEEDUP_ATTRIBUTES
    from rasa_speedups import tracker_copy

    assert SPEEDUP_ATTRIBUTES == {tracker_copy._FOLLOWUP_CLEARED}


class FakeRasaMain:
    def __init__(self):
        self.calls = []

    def __call__(self):
        self.calls.append((list(sys.argv), active_speedups()))


@pytest.fixture
def rasas_code_afterwards(monkeypatch):
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    with rasa_speedups.restoring(SPEEDUPS):
        yield
    assert active_speedups() == []


def test_the_launcher_installs_the_chosen_speed_ups_then_runs_rasa_with_the_same_arguments(
        monkeypatch, capsys, rasas_code_afterwards):
    monkeypatch.setenv("RASA_SPEEDUPS", "slot_copy,event_types")
    rasa_main = FakeRasaMain()
    assert launcher.main(["run", "--enable-api", "--port", "5999"], rasa_main=rasa_main) == 0
    assert rasa_main.calls == [(["rasa", "run", "--enable-api", "--port", "5999"], ["event_types", "slot_copy"])]
    assert "Rasa speed-ups installed: event_types, slot_copy" in capsys.readouterr().err


@pytest.mark.parametrize("setting, expected", [("", list(SPEEDUPS)), ("off", []),
                                               ("-message_parsing", [n for n in SPEEDUPS if n != "message_parsing"])])
def test_the_launcher_follows_the_switch(monkeypatch, rasas_code_afterwards, setting, expected):
    monkeypatch.setenv("RASA_SPEEDUPS", setting)
    rasa_main = FakeRasaMain()
    assert launcher.main(["run"], rasa_main=rasa_main) == 0
    assert rasa_main.calls[0][1] == expected


def test_the_launcher_refuses_another_rasa_version_and_names_the_switch(monkeypatch, capsys, rasas_code_afterwards):
    monkeypatch.setattr(rasa_speedups, "_installed_versions", lambda: {"rasa": "3.6.22", "rasa-sdk": "3.6.2"})
    monkeypatch.delenv("RASA_SPEEDUPS", raising=False)
    rasa_main = FakeRasaMain()
    assert launcher.main(["run"], rasa_main=rasa_main) == 1
    assert rasa_main.calls == [] and active_speedups() == []
    error = capsys.readouterr().err
    assert "rasa 3.6.22 (written for 3.6.21)" in error and "RASA_SPEEDUPS=off" in error
    monkeypatch.setenv("RASA_SPEEDUPS", "off")           # the way out the message names
    assert launcher.main(["run"], rasa_main=rasa_main) == 0 and rasa_main.calls == [(["rasa", "run"], [])]


@pytest.mark.parametrize("arguments", [[], ["train"], ["test", "core"]])
def test_the_launcher_runs_only_the_server(arguments, capsys, rasas_code_afterwards):
    rasa_main = FakeRasaMain()
    assert launcher.main(arguments, rasa_main=rasa_main) == 2
    assert rasa_main.calls == [] and "python -m rasa_speedups run" in capsys.readouterr().err


@pytest.mark.parametrize("setting, line", [("off", "Rasa speed-ups installed: none (RASA_SPEEDUPS=off)"),
                                           ("domain_checks,event_types",
                                            "Rasa speed-ups installed: domain_checks, event_types")])
def test_python_m_rasa_speedups_run_hands_over_to_rasas_cli(setting, line):
    result = _run_python(["-m", "rasa_speedups", "run", "--help"], RASA_SPEEDUPS=setting,
                         RASA_EXTENSIONS_SELF_CHECK="1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "usage: rasa run" in result.stdout and "--enable-api" in result.stdout   # Rasa's own help
    assert line in result.stderr
    assert "self-check on (RASA_EXTENSIONS_SELF_CHECK)" in result.stderr

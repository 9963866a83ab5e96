"""Structural rules of the dialogue and of privacy that a new slot, form or action must keep."""
import ast
import functools
from pathlib import Path

from rasa.shared.core.domain import Domain

from actions.interruptions import IGNORED_BY_FORMS
from privacy.slots import SAFE_SLOTS, SEALED_SLOTS, unsafe_declarations

ROOT = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=None)
def domain() -> dict:
    return Domain.load(str(ROOT / "domain")).as_dict()


def _from_text_slots():
    return [name for name, slot in domain()["slots"].items()
            if any(m.get("type") == "from_text" for m in slot.get("mappings", []))]


def test_no_slot_filled_from_text_is_declared_with_a_kind_raw_text_could_pass():
    assert unsafe_declarations(_from_text_slots()) == {}


def test_sealed_slots_are_never_declared_safe_so_an_unsealed_value_is_redacted():
    assert SEALED_SLOTS & set(SAFE_SLOTS) == set()


def _sealed_in_actions():
    """The slot names every `seal(tracker, "<slot>", …)` call in actions/ seals."""
    sealed = set()
    for path in (ROOT / "actions").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "seal":
                slot = node.args[1] if len(node.args) > 1 else None
                if isinstance(slot, ast.Constant):
                    sealed.add(slot.value)
                elif slot is not None:
                    sealed.add(f"<dynamic in {path.name}>")
    return sealed


def test_every_slot_an_action_seals_is_declared_sealed_and_not_safe():
    sealed = {name for name in _sealed_in_actions() if not name.startswith("<dynamic")}
    assert sealed, "the scan found no seal() calls"
    assert sealed <= SEALED_SLOTS
    assert not sealed & set(SAFE_SLOTS)


def test_every_declared_slot_exists_in_the_domain():
    slots = set(domain()["slots"])
    assert set(SAFE_SLOTS) - {"requested_slot"} <= slots  # requested_slot: Rasa's own
    assert SEALED_SLOTS <= slots


def test_every_form_ignores_the_same_interruptions():
    for name, form in domain()["forms"].items():
        assert set(form.get("ignored_intents") or []) == IGNORED_BY_FORMS, name


def test_every_form_has_a_validation_action_with_the_shared_behaviour():
    from rasa_sdk.executor import ActionExecutor

    from actions.forms import PatientFormValidationAction

    executor = ActionExecutor()
    executor.register_package("actions")
    for form in domain()["forms"]:
        action = executor.actions.get(f"validate_{form}")
        assert action is not None, form
        owner = getattr(action, "__self__", None)
        assert isinstance(owner, PatientFormValidationAction), form


def _rules():
    import yaml

    for path in sorted((ROOT / "data" / "rules").glob("*.yml")):
        yield from (yaml.safe_load(path.read_text()) or {}).get("rules") or []


def test_every_action_that_follows_a_finished_form_can_leave_instead_of_finishing():
    """The shared mechanism ends a form the user cancelled or switched away from like a finished one:
    the action the form's "done" rule runs must be an AfterFormAction, or leaving would finish the flow."""
    from rasa_sdk.executor import ActionExecutor

    from actions.forms import AfterFormAction

    executor = ActionExecutor()
    executor.register_package("actions")
    forms = set(domain()["forms"])
    followers = set()
    for rule in _rules():
        steps = rule.get("steps") or []
        for index, step in enumerate(steps[:-1]):
            if step.get("action") in forms and steps[index + 1] == {"active_loop": None}:
                followers.update(s["action"] for s in steps[index + 2:] if "action" in s)
    assert followers, "no form-done rule found"
    for name in followers:
        owner = getattr(executor.actions.get(name), "__self__", None)
        assert isinstance(owner, AfterFormAction), name

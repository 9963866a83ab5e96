"""Validate action server replies with one prepared JSON-schema validator instead of a new one per call.

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)` for
every reply of the action server. `jsonschema.validate` first checks the *schema itself* against
the JSON-schema meta-schema and builds a new validator each time; Rasa's events schema is large,
so on this assistant (forms: 1-3 action calls per message) that re-checking took about a third of
the Rasa server's CPU time under load (py-spy, docs/benchmark.md). The replies are still validated
exactly as before, against the same schema and with the same error message; only the schema check
and the validator construction happen once per process.

Even prepared, the validator still cost 8% of the server's main thread under load once the larger
costs were gone: the schema says each event is `oneOf` 23 event schemas, so every event was checked
against all 23. Each of the 23 requires its own `event` name (`const`, all distinct), so an event
is valid exactly when the schema for its name accepts it: a reply is first checked that way (the
envelope without `oneOf`, then each event against the schema of its name). Only a reply this check
rejects goes through the full schema, which stays the reference: it raises Rasa's error with
Rasa's message, or accepts the reply if the two ever disagreed (tests/unit/test_rasa_speedups.py
checks that they agree on every event type and on broken replies).

The first check runs schemas compiled to Python by fastjsonschema (the reply's envelope and each
event's schema are a few `type`, `properties`, `required`, `items` and `const` rules): jsonschema's
interpreter walking the same schemas was still 6% of the main thread under load. Defaults are not
filled in and formats not checked, as in jsonschema; whatever the compiled check rejects still
goes to jsonschema, so the verdict and the error message remain jsonschema's.
"""
from __future__ import annotations

import functools
import copy
from typing import Any, Callable, Dict, Text, Tuple

import fastjsonschema
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@functools.lru_cache(maxsize=None)
def _validator():
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


Check = Callable[[Any], bool]


def _compiled(schema: Dict[Text, Any]) -> Check:
    validate = fastjsonschema.compile(schema, use_default=False, use_formats=False)

    def accepts(data: Any) -> bool:
        try:
            validate(data)
            return True
        except fastjsonschema.JsonSchemaException:
            return False

    return accepts


@functools.lru_cache(maxsize=None)
def _dispatching_validators() -> Tuple[Check, Dict[Text, Check]]:
    """The schema without `oneOf` for the reply, and one compiled check per event name."""
    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    event_schema = schema["properties"]["events"]["items"]
    branches = event_schema.pop("oneOf")
    by_name = {branch["properties"]["event"]["const"]: _compiled(branch) for branch in branches}
    if len(by_name) != len(branches):   # names not distinct: the shortcut would not be exact
        raise ValueError("Rasa's event schemas no longer have distinct event names")
    return _compiled(schema), by_name


def is_valid_by_event_name(result: Any) -> bool:
    envelope, by_name = _dispatching_validators()
    if not envelope(result):
        return False
    for event in result.get("events") or []:
        accepts = by_name.get(event["event"])
        if accepts is None or not accepts(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    if is_valid_by_event_name(result):
        return True
    try:
        _validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((RemoteAction, "_validate_action_result"),)


def install() -> None:
    """Idempotent: replaces the method on Rasa's RemoteAction class."""
    RemoteAction._validate_action_result = _validate_action_result

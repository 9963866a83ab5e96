"""Validate action server replies with one prepared JSON-schema validator instead of a new one per call.

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)` for
every reply of the action server. `jsonschema.validate` first checks the *schema itself* against
the JSON-schema meta-schema and builds a new validator each time; Rasa's events schema is large,
so on this assistant (forms: 1-3 action calls per message) that re-checking took about a third of
the Rasa server's CPU time under load (py-spy, docs/benchmark.md). The replies are still validated
exactly as before, against the same schema and with the same error message; only the schema check
and the validator construction happen once per process.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Text

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


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    try:
        _validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error


def install() -> None:
    """Idempotent: replaces the method on Rasa's RemoteAction class."""
    RemoteAction._validate_action_result = _validate_action_result

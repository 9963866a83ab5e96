"""The action server's entry point: `python -m actions.server --actions actions --port 5055`.

rasa-sdk's own server (`python -m rasa_sdk`) answers an action that raised with HTTP 500 and the
whole request body (the tracker: slots, the turn's text), which the Rasa server then logs at ERROR,
and the user gets no reply at all. This entry point runs the same rasa-sdk app with the same
arguments, but with its own error handler, registered through Sanic's public API:
- the user gets an apology (`utter_action_failed`) instead of silence;
- a form validation action that failed also rejects the values it was asked to validate, so a raw
  answer never stays in a slot unvalidated;
- the log gets the action's name, the error's type and where it was raised: never the exception's
  message (it may quote what the user typed), never the request body.
Log records of the whole process are redacted (privacy.logs).
"""
from __future__ import annotations

import logging
import os
import traceback
from typing import Any, Dict, List

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser, create_ssl_context
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from privacy.logs import install_log_redaction

log = logging.getLogger(__name__)
FAILURE_RESPONSE = "utter_action_failed"
VALIDATION_PREFIX = "validate_"


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    return " <- ".join(f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" for frame in reversed(frames))


def _candidate_slots(action_call: Dict[str, Any]) -> List[str]:
    """The slots set since the user's latest message: what a validation action was asked to check."""
    events = ((action_call.get("tracker") or {}).get("events") or []) if isinstance(action_call, dict) else []
    names: List[str] = []
    for event in reversed(events):
        if not isinstance(event, dict):
            continue
        if event.get("event") == "user":
            break
        if event.get("event") == "slot" and isinstance(event.get("name"), str) and event["name"] != "requested_slot":
            names.append(event["name"])
    return names


def failure_reply(action_call: Any) -> Dict[str, Any]:
    """What the action server answers when an action raised: an apology, and for a form validation,
    every candidate value rejected."""
    name = action_call.get("next_action") if isinstance(action_call, dict) else None
    events: List[Dict[str, Any]] = []
    if isinstance(name, str) and name.startswith(VALIDATION_PREFIX):
        events = [{"event": "slot", "name": slot, "value": None, "timestamp": None}
                  for slot in _candidate_slots(action_call)]
    return {"events": events, "responses": [{"response": FAILURE_RESPONSE}]}


def install_error_handler(app: Any) -> None:
    async def action_failed(request: Request, error: Exception) -> HTTPResponse:
        try:
            action_call = request.json
        except Exception:
            action_call = None
        name = action_call.get("next_action") if isinstance(action_call, dict) else None
        log.error("action %s failed: %s at %s", name, type(error).__name__, _where(error))
        return response.json(failure_reply(action_call), status=200)

    app.error_handler.add(Exception, action_failed)


def main() -> None:
    args = create_argument_parser().parse_args()
    install_log_redaction()
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel,
                                 args.logging_config_file)
    utils.update_sanic_log_level()
    app = create_app(args.actions, cors_origins=args.cors, auto_reload=args.auto_reload)
    install_error_handler(app)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = os.environ.get("SANIC_HOST", "0.0.0.0")
    log.info("Action endpoint is up and running on %s://%s:%s", "https" if ssl_context else "http", host, args.port)
    app.run(host, args.port, ssl=ssl_context, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()

"""`rasa` with the changes prototyped in bench/proposed installed first (benchmark use only).

    .venv/bin/python -m bench.proposed.rasa_launcher run --enable-api ...
"""
import sys

from bench.proposed import action_validation, event_types, tracker_redaction

if __name__ == "__main__":
    action_validation.install()
    tracker_redaction.install()
    event_types.install()
    from rasa.__main__ import main

    sys.argv = ["rasa"] + sys.argv[1:]
    main()

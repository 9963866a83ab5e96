"""Look event classes up by name in a table instead of walking every Event subclass each time.

`Event.resolve_by_type` (used by `Event.from_parameters` for every event read from the tracker
store, returned by the action server or redacted) calls `all_subclasses(Event)`, which walks the
class tree and checks each class for abstractness: 3.5% of the Rasa server's samples under load.
The table is built from the same walk, in the same order (first match wins, as before), and is
rebuilt when a name is missing, so subclasses defined later are still found.
"""
from __future__ import annotations

from typing import Dict, Optional, Text, Type

import rasa.shared.utils.common
from rasa.shared.core.events import Event

_BY_TYPE_NAME: Dict[Text, Type[Event]] = {}


def _rebuild() -> None:
    table: Dict[Text, Type[Event]] = {}
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        table.setdefault(cls.type_name, cls)
    _BY_TYPE_NAME.clear()
    _BY_TYPE_NAME.update(table)


def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    cls = _BY_TYPE_NAME.get(type_name)
    if cls is None:
        _rebuild()
        cls = _BY_TYPE_NAME.get(type_name)
    if cls is not None:
        return cls
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((Event, "resolve_by_type"),)


def install() -> None:
    Event.resolve_by_type = staticmethod(resolve_by_type)

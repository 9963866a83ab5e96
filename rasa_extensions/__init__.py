"""Code that runs inside the Rasa server (not the action server): privacy-preserving tracker
storage, the atomic Redis lock store, NLU components, and two speed-ups of Rasa 3.6 itself.

The speed-ups are installed whenever Rasa loads anything of this package (the tracker store of
every endpoints file, the NLU components of the model). Both keep Rasa's behaviour and were found
by profiling the server under load (docs/benchmark.md):
- action_validation: one prepared JSON-schema validator for action-server replies instead of a
  new, schema-checked one per reply (a third of the server's CPU under load);
- event_types: event classes looked up by name in a table instead of a walk of all subclasses.
"""
from rasa_extensions import action_validation, event_types

action_validation.install()
event_types.install()

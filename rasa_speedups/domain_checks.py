"""`Domain.is_empty()` compared against one empty domain made once.

Rasa 3.6 checks every parsed message for intents and entities the domain lacks, and first asks
whether the domain is empty, which builds a whole new empty Domain (`Domain.empty()`, parsing
the default actions, slots and session settings) only to compare with it: 1.3% of the Rasa
server's main thread under load. The empty domain is always the same, so it is built once.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Text

from rasa.shared.core.domain import Domain


@functools.lru_cache(maxsize=1)
def _empty_domain_data() -> Dict[Text, Any]:
    return Domain.empty().as_dict()


def is_empty(self: Domain) -> bool:
    return self.as_dict() == _empty_domain_data()


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((Domain, "is_empty"),)


def install() -> None:
    Domain.is_empty = is_empty

"""NLU parsing off the event loop, and the parse of a repeated, impersonal text reused.

Rasa 3.6 parses each message by running the NLU graph on the server's only event loop
(`MessageProcessor.parse_message`): while DIET runs, no other conversation moves. Under load the
NLU graph was the largest share of the Rasa server's main thread (26-32%, docs/benchmark.md). Here:

- the graph runs in one dedicated thread (one parse at a time, as before, so the components see
  no concurrency): TensorFlow releases the GIL while it computes, so the event loop serves other
  conversations (their tracker and lock I/O, rule predictions, action calls) meanwhile, on the
  second core;
- the parse of a text is remembered when it is impersonal and will come again: most messages in
  form conversations are the same few words ("ya", "tidak", "1", "Vaksin", "cek status"). A parse
  is reused only when the text holds fewer than four digits and every entity found is one of
  IMPERSONAL_ENTITIES, so no NIK, phone number, OTP, name, reference or date (dates are resolved
  against today's date) is ever kept; the same model always parses the same text the same way,
  and each loaded model has its own cache (a new model gets a new MessageProcessor). A reused parse
  is a deep copy; an INFO line every REPORT_EVERY lookups says how many were reused.

Measured at saturation: the thread alone gained nothing (most of a parse is Python that holds the
GIL); with the reuse (70% of lookups in the benchmark) the server took 25% more messages.

NLU_PARSE_CACHE_SIZE (environment, default 5000 texts) bounds the cache; 0 turns it off.
Everything after the graph (retrieval intents, the unseen-feature warnings) is Rasa's own code.
"""
from __future__ import annotations

import asyncio
import copy
import logging
import os
import re
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Optional, Text

import structlog
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE

logger = logging.getLogger(__name__)
structlogger = structlog.get_logger()

DEFAULT_CACHE_SIZE = 5000
# Menu numbers and professions say nothing about the person; every other entity type does (NIK,
# phone, OTP, name, NKS reference) or depends on the day (dates).
IMPERSONAL_ENTITIES = frozenset({"option_number", "profession"})
_DIGIT = re.compile(r"\d")
MAX_CACHED_DIGITS = 3
REPORT_EVERY = 1000   # lookups between two INFO lines with the cache's hits and misses

_nlu_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu")


def cache_size() -> int:
    try:
        return max(0, int(os.environ.get("NLU_PARSE_CACHE_SIZE", DEFAULT_CACHE_SIZE)))
    except ValueError:
        return DEFAULT_CACHE_SIZE


def may_hold_personal_data(text: Text) -> bool:
    """Texts with four or more digits anywhere (NIK digits, OTP codes, phone numbers in any spelling)."""
    return len(_DIGIT.findall(text)) > MAX_CACHED_DIGITS


def has_only_impersonal_entities(parse_data: Dict[Text, Any]) -> bool:
    return all(entity.get(ENTITY_ATTRIBUTE_TYPE) in IMPERSONAL_ENTITIES
               for entity in parse_data.get(ENTITIES) or [])


class ParseCache:
    """The parses of recently seen impersonal texts (LRU), for one loaded model."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._parses: "OrderedDict[Text, Dict[Text, Any]]" = OrderedDict()

    def key(self, message: UserMessage, only_output_properties: bool) -> Optional[Text]:
        """The text to look the parse up by, or None when this message's parse is never kept."""
        text = message.text
        # All properties (Rasa's /model/parse with emulation) include the message id and metadata.
        if (self.capacity == 0 or not only_output_properties or not isinstance(text, str)
                or may_hold_personal_data(text)):
            return None
        return text

    def get(self, key: Text) -> Optional[Dict[Text, Any]]:
        parse_data = self._parses.get(key)
        if parse_data is None:
            self.misses += 1
        else:
            self.hits += 1
        if (self.hits + self.misses) % REPORT_EVERY == 0:
            logger.info("NLU parse cache: %d of the last %d lookups reused (%d texts kept)",
                        self.hits, REPORT_EVERY, len(self._parses))
            self.hits = self.misses = 0
        if parse_data is None:
            return None
        self._parses.move_to_end(key)
        return copy.deepcopy(parse_data)

    def put(self, key: Text, parse_data: Dict[Text, Any]) -> None:
        """Keeps the parse of a text `key()` accepted, unless it found personal or dated values."""
        if not has_only_impersonal_entities(parse_data):
            return
        self._parses[key] = copy.deepcopy(parse_data)
        self._parses.move_to_end(key)
        while len(self._parses) > self.capacity:
            self._parses.popitem(last=False)

    def __len__(self) -> int:
        return len(self._parses)


def parse_cache(processor: MessageProcessor) -> ParseCache:
    cache = processor.__dict__.get("_parse_cache")
    if cache is None:
        cache = processor.__dict__["_parse_cache"] = ParseCache(cache_size())
    return cache


async def parse_message(self: MessageProcessor, message: UserMessage,
                        tracker: Optional[DialogueStateTracker] = None,
                        only_output_properties: bool = True) -> Dict[Text, Any]:
    """Rasa 3.6's MessageProcessor.parse_message, with the graph in the NLU thread and the cache."""
    if self.http_interpreter:
        parse_data = await self.http_interpreter.parse(message)
    else:
        cache = parse_cache(self)
        key = cache.key(message, only_output_properties)
        parse_data = cache.get(key) if key is not None else None
        if parse_data is None:
            if tracker is None:
                tracker = DialogueStateTracker.from_events(message.sender_id, [])
            parse_data = await asyncio.get_running_loop().run_in_executor(
                _nlu_thread, self._parse_message_with_graph, message, tracker, only_output_properties)
            if key is not None:
                cache.put(key, parse_data)

    self._update_full_retrieval_intent(parse_data)
    if logging.getLogger("rasa.core.processor").isEnabledFor(logging.DEBUG):
        # Rasa deep-copies these for its debug line at every level; only when it is shown here.
        structlogger.debug("processor.message.parse", parse_data_text=copy.deepcopy(parse_data["text"]),
                           parse_data_intent=parse_data["intent"],
                           parse_data_entities=copy.deepcopy(parse_data["entities"]))
    self._check_for_unseen_features(parse_data)
    return parse_data


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((MessageProcessor, "parse_message"),)


def install() -> None:
    MessageProcessor.parse_message = parse_message

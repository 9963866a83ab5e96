"""NLU parses off the event loop, and reuse of the parse of repeated impersonal texts
(rasa_speedups/message_parsing.py), on a MessageProcessor whose NLU graph is a recording fake."""
import asyncio
import threading
from pathlib import Path

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain

import rasa_speedups
from rasa_speedups import message_parsing

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def installed():
    """The message_parsing speed-up, and nothing else, for this module's tests; Rasa's own code again afterwards."""
    with rasa_speedups.install_temporarily("message_parsing"):
        yield


def _entity(kind, value, start=0, end=1):
    return {"entity": kind, "value": value, "start": start, "end": end, "extractor": "IndonesianValueExtractor"}


class RecordingGraph:
    """Stands in for the NLU graph: one parse per text, with the entities a test gives it."""

    def __init__(self, entities=None):
        self.calls = []
        self.threads = []
        self.entities = entities or {}

    def __call__(self, message, tracker, only_output_properties=True):
        self.calls.append(message.text)
        self.threads.append(threading.current_thread().name)
        return {"text": message.text.lower(), "intent": {"name": "affirm", "confidence": 0.97},
                "entities": [dict(e) for e in self.entities.get(message.text, [])],
                "intent_ranking": [{"name": "affirm", "confidence": 0.97}, {"name": "deny", "confidence": 0.02}]}


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain"))


def processor_with(graph, domain, capacity=100):
    processor = MessageProcessor.__new__(MessageProcessor)
    processor.http_interpreter = None
    processor.domain = domain
    processor._parse_message_with_graph = graph
    processor._parse_cache = message_parsing.ParseCache(capacity)
    return processor


def parse(processor, text, **kwargs):
    return asyncio.run(message_parsing.parse_message(processor, UserMessage(text, sender_id="someone"), **kwargs))


def test_installed_on_rasas_processor():
    assert MessageProcessor.parse_message is message_parsing.parse_message


def test_a_repeated_impersonal_text_is_parsed_once_and_answered_alike(domain):
    graph = RecordingGraph()
    processor = processor_with(graph, domain)
    first = parse(processor, "ya")
    second = parse(processor, "ya")
    assert graph.calls == ["ya"]
    assert first == second
    assert (processor._parse_cache.hits, processor._parse_cache.misses) == (1, 1)


def test_a_reused_parse_is_a_copy_that_callers_may_change(domain):
    processor = processor_with(RecordingGraph(), domain)
    parse(processor, "tidak")["intent"]["name"] = "changed by a caller"
    parse(processor, "tidak")["entities"].append({"entity": "x"})
    third = parse(processor, "tidak")
    assert third["intent"]["name"] == "affirm" and third["entities"] == []


@pytest.mark.parametrize("text, entities", [
    ("482913", []),                                   # OTP code or NIK digits
    ("kode saya 4829", []),
    ("0812 3456 7890", []),                           # a phone number in any spelling
    ("12 34 56", []),
    ("nama saya Siti Aminah", [_entity("person_name", "Siti Aminah")]),
    ("besok pagi", [_entity("date", "2026-12-03")]),  # depends on the day
    ("cek NKS-ABCDEFGH", [_entity("submission_reference", "NKS-ABCDEFGH")]),
])
def test_texts_that_may_hold_personal_data_or_depend_on_the_day_are_parsed_every_time(domain, text, entities):
    graph = RecordingGraph({text: entities})
    processor = processor_with(graph, domain)
    parse(processor, text)
    parse(processor, text)
    assert graph.calls == [text, text]
    assert len(processor._parse_cache) == 0


@pytest.mark.parametrize("text, entities", [
    ("1", [_entity("option_number", "1")]),
    ("pilih nomor 2", [_entity("option_number", "2")]),
    ("saya perawat", [_entity("profession", "perawat")]),
    ("/register_vaccine", []),
])
def test_menu_numbers_professions_and_button_payloads_are_reused(domain, text, entities):
    graph = RecordingGraph({text: entities})
    processor = processor_with(graph, domain)
    assert parse(processor, text) == parse(processor, text)
    assert graph.calls == [text]


def test_parses_with_every_property_are_not_reused(domain):
    # Rasa asks for all properties where the message id and metadata are part of the answer.
    graph = RecordingGraph()
    processor = processor_with(graph, domain)
    parse(processor, "ya", only_output_properties=False)
    parse(processor, "ya", only_output_properties=False)
    assert graph.calls == ["ya", "ya"]


def test_the_graph_runs_in_the_nlu_thread_not_on_the_event_loop(domain):
    graph = RecordingGraph()
    processor = processor_with(graph, domain)
    parse(processor, "halo")
    assert graph.threads == [graph.threads[0]] and graph.threads[0].startswith("nlu")
    assert graph.threads[0] != threading.current_thread().name


def test_the_event_loop_serves_others_while_a_message_is_parsed(domain):
    started, release = threading.Event(), threading.Event()

    def slow_graph(message, tracker, only_output_properties=True):
        started.set()
        assert release.wait(5), "the event loop never got to run while the parse was under way"
        return {"text": message.text, "intent": {"name": "greet", "confidence": 1.0}, "entities": []}

    processor = processor_with(slow_graph, domain)

    async def scenario():
        parsing = asyncio.ensure_future(message_parsing.parse_message(processor, UserMessage("halo")))
        while not started.is_set():
            await asyncio.sleep(0.01)
        release.set()   # only reachable because the loop is free while the graph runs
        return await parsing

    assert asyncio.run(scenario())["intent"]["name"] == "greet"


def test_the_cache_keeps_the_most_recent_texts_up_to_its_size(domain):
    graph = RecordingGraph()
    processor = processor_with(graph, domain, capacity=2)
    for text in ("a", "b", "a", "c", "a", "b"):
        parse(processor, text)
    # "b" was the least recently used when "c" came, so it was parsed again at the end.
    assert graph.calls == ["a", "b", "c", "b"]
    assert len(processor._parse_cache) == 2


def test_size_zero_turns_the_cache_off(domain, monkeypatch):
    monkeypatch.setenv("NLU_PARSE_CACHE_SIZE", "0")
    graph = RecordingGraph()
    processor = processor_with(graph, domain)
    del processor._parse_cache
    parse(processor, "ya")
    parse(processor, "ya")
    assert graph.calls == ["ya", "ya"]

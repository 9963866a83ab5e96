"""The load benchmark's own logic, without Locust: figures, tables, reply checks, profile buckets."""

from bench import stats
from bench.conversations import (HealthWorker, Person, Turn, manifest_identities, name_change_and_certificate,
                                 registration_to_ticket, reply_problem, stock_small_talk)
from bench.profile_summary import categorize, parse, summary


def sample(t, ms, ok=True, error=None, last_turn=False):
    return {"t": t, "ms": ms, "ok": ok, "error": error, "last_turn": last_turn}


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert stats.percentile(values, 0.50) == 50
    assert stats.percentile(values, 0.95) == 95
    assert stats.percentile(values, 0.99) == 99
    assert stats.percentile([7.0], 0.99) == 7.0
    assert stats.percentile([], 0.5) is None


def test_summary_counts_only_messages_started_inside_the_window():
    samples = [sample(5, 1000), sample(10, 100), sample(20, 200, last_turn=True),
               sample(30, 300, ok=False, error="reply lacks 'x'"), sample(40, 5000)]
    figures = stats.summarize(samples, window_start=10, window_end=40)
    assert figures["messages"] == 3
    assert figures["msgs_per_s"] == 0.1 and figures["ok_msgs_per_s"] == round(2 / 30, 2)
    assert figures["p50_ms"] == 200 and figures["p99_ms"] == 300
    assert figures["errors"] == 1 and figures["error_rate"] == round(1 / 3, 4)
    assert figures["error_kinds"] == {"reply lacks 'x'": 1}
    assert figures["conversations_completed"] == 1


def test_ratio_table_and_verdict():
    def level(bot, users, rate, p95, errors=0):
        return {"bot": bot, "users": users, "ok_msgs_per_s": rate, "p50_ms": 50, "p95_ms": p95, "p99_ms": p95,
                "errors": errors, "error_rate": 0.0, "conversations_completed": 3, "load_average": 1.5,
                "peak_rss_mib": {"rasa": 900.0} if bot == "stock" else {"rasa": 1200.5, "actions": 60.0}}
    results = [level("assistant", 10, 5.0, 250), level("assistant", 50, 9.0, 900, errors=2),
               level("stock", 10, 5.0, 100), level("stock", 50, 10.0, 400)]
    assert stats.ratio(results[1], results[3]) == 0.9
    table = stats.results_table(results)
    assert "| assistant | 50 | 9.0 | 50 | 900 | 900 | 2 (0.0) | 3 | 1.5 | 0.9x |" in table
    memory = stats.memory_table(results)
    assert "| rasa | actions |" in memory and "| stock | 50 | 900.0 | – |" in memory
    assert stats.verdict(results) == [
        "errors at 50 users: 2 -> MISSED",
        "p95 at 10 users: 250 ms (target 300) -> met",
        "throughput at 50 users: 0.9x the stock bot (target 2x) -> MISSED",
    ]


def test_reply_checks_catch_empty_wrong_and_imageless_answers():
    turn = Turn("ya", ("Pendaftaran berhasil",), expect_image=True)
    assert reply_problem(turn, []) == "empty reply"
    assert reply_problem(turn, {"text": "x"}) == "empty reply"
    assert reply_problem(turn, [{"text": "Maaf, terjadi gangguan."}]) == "reply lacks 'Pendaftaran berhasil'"
    assert reply_problem(turn, [{"text": "Pendaftaran berhasil!"}]) == "reply lacks the image"
    assert reply_problem(turn, [{"text": "Pendaftaran berhasil!"}, {"image": "http://x/qr.png"}]) is None


def test_conversations_are_complete_and_of_similar_length():
    registration = registration_to_ticket(HealthWorker("901234", "Ayu Lubis"))
    verification = name_change_and_certificate(Person("081500000007", "Ayu Lubis Putri"))
    assert registration[2].text == "901234" and "Ayu Lubis" in registration[2].expect
    assert registration[-1].expect_image and "Pendaftaran berhasil" in registration[-1].expect
    assert [t.otp_for for t in verification if t.otp_for] == ["081500000007"]
    assert verification[-1].expect_image
    lengths = [len(registration), len(verification), len(stock_small_talk())]
    assert lengths == [13, 7, 10]
    assert abs(sum(lengths[:2]) / 2 - lengths[2]) <= 1   # the stock bot's users send as many messages


def test_the_stock_script_passes_against_the_stock_bots_answers():
    answers = {"hello": "Hey! How are you?", "hi there": "Hey! How are you?", "good morning": "Hey! How are you?",
               "I am sad": ["Here is something to cheer you up:", "IMAGE", "Did that help you?"],
               "very bad": ["Here is something to cheer you up:", "IMAGE", "Did that help you?"],
               "yes": "Great, carry on!", "I am great": "Great, carry on!", "goodbye": "Bye",
               "are you a bot?": "I am a bot, powered by Rasa.", "are you a human?": "I am a bot, powered by Rasa."}

    def fake_bot(text):
        answer = answers[text]
        parts = answer if isinstance(answer, list) else [answer]
        return [{"image": "https://i.imgur.com/nGF1K8f.jpg"} if part == "IMAGE" else {"text": part} for part in parts]

    assert [reply_problem(turn, fake_bot(turn.text)) for turn in stock_small_talk()] == [None] * 10


def test_manifest_identities():
    workers, persons = manifest_identities({"health_workers": [{"nik_suffix": "901234", "name": "A B"}],
                                            "persons": [{"phone": "081500000001", "new_name": "C D Putri"}]})
    assert workers == [HealthWorker("901234", "A B")] and persons == [Person("081500000001", "C D Putri")]


def test_profile_stacks_are_bucketed_by_the_most_specific_marker():
    raw = ["main (rasa/__main__.py:1);save (rasa_extensions/tracker_store.py:45);do_execute (sqlalchemy/engine/default.py:736) 7",
           "main (rasa/__main__.py:1);_validate_action_result (rasa/core/actions/action.py:704) 5",
           "main (rasa/__main__.py:1);process (rasa/nlu/classifiers/diet_classifier.py:10) 3",
           "garbage line"]
    counts = parse(raw)
    assert sum(counts.values()) == 15
    assert categorize(raw[0].rsplit(" ", 1)[0]).startswith("tracker store")
    assert summary(counts) == {"tracker store retrieve/save (SQL + redaction)": 7,
                               "custom action calls (HTTP to the action server)": 5,
                               "NLU graph (featurizers, DIET, ResponseSelector)": 3}

"""The load benchmark's own logic, without Locust: texts, identities, figures, tables, targets, reply checks."""

import datetime as dt
import importlib.util
import random
import re
import sys
import types
from pathlib import Path

from bench import identities, phrasing, stats
from bench.conversations import (HealthWorker, Person, Turn, detour_taken, faq_visit, is_error, journey,
                                 manifest_identities, name_change_and_certificate, otp_text, registration_to_ticket,
                                 reply_problem, stock_problem)
from bench.profile_summary import categorize, parse, summary


def _run_module():
    """bench/run.py imports psutil (bench venv): load it for its pure functions, psutil stubbed if absent."""
    if importlib.util.find_spec("psutil") is None:
        sys.modules.setdefault("psutil", types.ModuleType("psutil"))
    spec = importlib.util.spec_from_file_location("bench_run", Path(__file__).resolve().parents[2] / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_module = _run_module()

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




def test_summary_separates_errors_from_misunderstood_replies():
    samples = [dict(sample(10, 100), sent="ya"), dict(sample(11, 100), sent="Ya"), dict(sample(12, 100), sent="ya"),
               dict(sample(13, 100, ok=False, error="no reply"), counts=True),
               dict(sample(14, 100, ok=False, error="off-script: lacks 'x'"), counts=False),
               dict(sample(15, 100), silent=True)]
    figures = stats.summarize(samples, 10, 20)
    assert figures["errors"] == 1 and figures["misunderstood"] == 1 and figures["silent"] == 1
    assert figures["ok_msgs_per_s"] == 0.5          # the off-script reply is an answer, "no reply" is not
    assert figures["distinct_texts"] == 2
    assert figures["error_kinds"] == {"no reply": 1, "off-script: lacks 'x'": 1}


def test_manifest_identities():
    workers, persons = manifest_identities({"health_workers": [{"nik_suffix": "901234", "name": "A B",
                                                                "birth_date": "1980-01-02"}],
                                            "persons": [{"phone": "081500000001", "new_name": "C D Putri"}]})
    assert workers == [HealthWorker("901234", "A B", "1980-01-02")] and persons == [Person("081500000001", "C D Putri")]


def level(setup, users, rate, p95, errors=0, mode="paced", rss=1200.5, messages=100):
    return {"setup": setup, "bot": "stock" if setup == "stock" else "assistant", "users": users, "mode": mode,
            "ok_msgs_per_s": rate, "p50_ms": 50, "p95_ms": p95, "p99_ms": p95, "errors": errors, "misunderstood": 1,
            "error_rate": 0.0, "conversations_completed": 3, "load_average": 1.5, "messages": messages,
            "peak_rss_mib": {"rasa": 900.0} if setup == "stock" else {"rasa": rss, "actions": 60.0}}


def test_table_has_one_row_per_setup_and_level_with_the_ratio_to_stock():
    results = [level("stock", 50, 10.0, 400), level("assistant", 50, 9.0, 900, errors=2),
               level("assistant", 10, 40.0, 250, mode="capacity"), level("stock", 10, 8.0, 100, mode="capacity"),
               level("assistant-nocache", 10, 20.0, 300, mode="capacity")]
    assert stats.ratio(results[1], results[0]) == 0.9
    table = stats.results_table(results).splitlines()
    assert table[0].startswith("| setup | level | msgs/s | p50 ms | p95 ms | p99 ms | errors | misunderstood")
    # setups in a fixed order, paced levels before capacity; stock rows carry no ratio
    assert table[2] == ("| assistant (cache on) | 50 users, paced | 9.0 | 50 | 900 | 900 | 2 | 1 | 3 | 1200.5 | "
                        "0.9x | 1.5 |")
    assert table[3].startswith("| assistant (cache on) | capacity, 10 users | 40.0 |") and "| 5.0x |" in table[3]
    assert table[4].startswith("| assistant (cache off) | capacity, 10 users | 20.0 |") and "| 2.5x |" in table[4]
    assert table[-1].startswith("| stock `rasa init` bot | capacity, 10 users | 8.0 |") and "| – |" in table[-1]
    memory = stats.memory_table(results)
    assert "| rasa | actions |" in memory and "| stock `rasa init` bot | 50 users, paced | 900.0 | – |" in memory


def test_targets_pass_and_gap():
    results = [level("assistant", 50, 22.0, 250), level("assistant", 10, 40.0, 250, mode="capacity"),
               level("assistant-nocache", 10, 18.0, 300, mode="capacity", rss=1300.0),
               level("stock", 10, 8.0, 100, mode="capacity"), level("stock", 50, 21.0, 100)]
    checks = {c["target"]: c for c in stats.targets(results)}
    assert [c["verdict"] for c in checks.values()] == ["PASS", "GAP", "PASS", "PASS", "GAP"]
    assert checks["capacity assistant (cache on) >= 4x stock"]["measured"] == "5.0x (40.0 vs 8.0 msgs/s)"
    assert checks["capacity assistant (cache off) >= 2.5x stock"]["measured"].startswith("2.25x")
    assert checks["0 errors (assistant, every setup and level)"]["measured"] == "0 errors in 300 messages"
    # 1300 MiB = 1.36 GB: over 1.3 GB (decimal)
    assert checks["Rasa server RSS <= 1.3 GB (peak)"]["measured"] == "1300.0 MiB (1.36 GB)"
    results[0]["errors"] = 1
    results[0]["p95_ms"] = 301
    verdicts = {c["target"]: c["verdict"] for c in stats.targets(results)}
    assert verdicts["0 errors (assistant, every setup and level)"] == "GAP"
    assert verdicts["p95 <= 300 ms at 50 users pausing (cache on)"] == "GAP"
    assert "| GAP |" in stats.targets_table(stats.targets(results))


def test_targets_not_measured_when_a_setup_is_missing():
    checks = stats.targets([level("assistant", 50, 22.0, 250)])
    assert [c["verdict"] for c in checks[:2]] == ["not measured", "not measured"]
    assert checks[2]["verdict"] == "PASS" and checks[4]["verdict"] == "PASS"


def test_patch_gains_against_the_baseline_noise():
    def run(setup, rate):
        return dict(level(setup, 10, rate, 100, mode="capacity"), setup=setup)
    results = [run("patch:baseline", 40.0), run("patch:-slot_copy", 30.0), run("patch:-event_types", 39.0),
               run("patch:baseline", 42.0), run("patch:-rule_keys", 37.5), run("patch:baseline", 41.0)]
    gains = stats.patch_gains(results)
    assert gains["baseline_runs"] == [40.0, 42.0, 41.0] and gains["baseline_mean"] == 41.0
    assert gains["noise"] == round(2 / 41, 3)
    rows = {row["name"]: row for row in gains["patches"]}
    assert rows["slot_copy"]["gain"] == round(41 / 30 - 1, 3) and rows["slot_copy"]["beyond_noise"] is True
    assert rows["event_types"]["beyond_noise"] is False   # 1 below the slowest baseline, the spread is 2
    assert rows["rule_keys"]["beyond_noise"] is True      # 2.5 below it
    table = stats.patch_table(gains).splitlines()
    assert table[2].startswith("| slot_copy | 30.0 | +36.7% | yes |")
    assert table[-1].startswith("| event_types | 39.0 | +5.1% | no |")


def test_reply_checks_classify_errors_and_misunderstood_replies():
    turn = Turn("ya", ("Pendaftaran berhasil",), expect_image=True)
    assert reply_problem(turn, []) == "no reply"
    assert reply_problem(turn, {"text": "x"}) == "no reply"
    assert reply_problem(turn, [{"text": "Mohon maaf, sistem kami sedang mengalami gangguan ..."}]) == "error text"
    assert reply_problem(turn, [{"text": "Mohon maaf, permintaan Anda belum dapat kami proses. Silakan ..."}]) == "error text"
    assert reply_problem(turn, [{"text": "Mohon maaf, saya belum memahami pesan Anda."}]) == "fallback"
    # an ordinary answer to a misunderstood text is not the generic error text
    assert reply_problem(turn, [{"text": "Terima kasih. Saat ini kami sedang tidak menanyakan data apa pun, jadi pesan "
                                         "tersebut belum dapat kami proses."}]).startswith("off-script")
    assert reply_problem(turn, [{"text": "Jadwal Anda:"}]) == "off-script: lacks 'Pendaftaran berhasil'"
    assert reply_problem(turn, [{"text": "pendaftaran BERHASIL!"}]) == "off-script: lacks the image"
    assert reply_problem(turn, [{"text": "Pendaftaran berhasil!"}, {"image": "http://x/qr.png"}]) is None
    assert [is_error(p) for p in ("no reply", "error text", "fallback", "HTTP error", "off-script: lacks 'x'", None)] \
        == [True, True, False, True, False, False]
    assert stock_problem([]) is None and stock_problem([{"text": "Bye"}]) is None and stock_problem(None) == "no reply"


def test_journeys_reach_their_outcome_and_vary_between_users():
    from actions import parsing
    worker, person = HealthWorker("901234", "Ayu Lubis", "1990-06-05"), Person("081500000007", "Ayu Lubis Putri")
    registrations = [registration_to_ticket(worker, random.Random(n)) for n in range(50)]
    said_profession = 0
    for turns in registrations:
        assert 13 <= len(turns) <= 15
        assert turns[-1].expect_image and "Pendaftaran berhasil" in turns[-1].expect
        nik = next(t for t in turns if t.step == "nik")
        assert nik.text.replace(" ", "").replace("-", "") == "901234" and nik.expect == ("tanggal lahir",)
        born = next(t for t in turns if t.step == "birth date")
        assert parsing.birth_date(born.text) == dt.date(1990, 6, 5) and "Ayu Lubis" in born.expect
        at = next(n for n, t in enumerate(turns) if t.step == "register")
        # a request that names the profession ("saya bidan, ...") skips "are you a health worker?"
        if turns[at].expect == ("6 digit terakhir",):
            assert turns[at + 1].step == "nik"
            said_profession += 1
        else:
            assert turns[at].expect == ("tenaga kesehatan",) and turns[at + 1].expect == ("6 digit terakhir",)
        assert [t.expect for t in turns if t.step == "no"][0] == ("2/7",)
    assert 0 < said_profession < 50
    assert len({tuple(t.text for t in turns) for turns in registrations}) == 50
    certificates = [name_change_and_certificate(person, random.Random(n)) for n in range(50)]
    for turns in certificates:
        assert [t.otp_for for t in turns if t.otp_for] == ["081500000007"]
        assert turns[-1].expect_image and "sertifikat vaksinasi" in turns[-1].expect
        phone = next(t for t in turns if t.step == "phone").text
        assert re.sub(r"[\s-]", "", phone) in ("081500000007", "+6281500000007", "6281500000007")
    faqs = [faq_visit(random.Random(n)) for n in range(50)]
    for turns in faqs:
        assert turns[0].step == "greeting" and turns[-1].step == "goodbye"
        assert len([t for t in turns if t.step == "faq"]) == 3
    assert len({t.text for turns in faqs for t in turns if t.step == "faq"}) > 60
    assert otp_text("123456", "{a} {b}") == "123 456" and otp_text("123456", "kodenya {code}") == "kodenya 123456"


def test_the_same_journey_number_gives_the_same_texts():
    workers, persons = [HealthWorker("901234", "Ayu Lubis")] * 3, [Person("081500000007", "Ayu Putri")] * 3

    def counter():
        return iter(range(3)).__next__
    first = [journey(n, 5, workers, persons, counter(), counter()) for n in range(3)]
    again = [journey(n, 5, workers, persons, counter(), counter()) for n in range(3)]
    other = [journey(n, 6, workers, persons, counter(), counter()) for n in range(3)]
    assert [flow for flow, _ in first] == ["registration", "faq", "certificate"]
    assert first == again and first != other


def test_phrasings_vary_like_real_users():
    texts = phrasing.pool_sample(3000, seed=3)
    assert len(set(texts)) >= 1000                          # hundreds of distinct texts, not a script
    lowered = f" {' '.join(texts).lower()} "
    for informal in (" yg ", " sy ", "sertif ", " dong", " kak", " min", "gak"):
        assert informal in lowered, informal
    assert any(t.isupper() for t in texts) and any(t[:1].isupper() and not t.isupper() for t in texts)
    rng = random.Random(1)
    typos = {phrasing.typo("sertifikat vaksin", rng) for _ in range(200)}
    assert len(typos) > 20 and "sertifikat vaksin" not in typos
    for text in typos:   # one edit in one word, its first and last letters kept
        changed = [w for w in text.split() if w not in ("sertifikat", "vaksin")]
        assert len(changed) == 1 and changed[0][0] in "sv" and changed[0][-1] in "tn"
        assert abs(len(text) - len("sertifikat vaksin")) <= 1
    assert phrasing.typo("ya ok", rng) == "ya ok"          # no word of five letters: no typo


def test_short_answers_keep_their_meaning():
    from actions.parsing import yes_or_no
    from indonesian_text.choices import option_number
    rng = random.Random(2)
    for _ in range(500):
        assert yes_or_no(phrasing.yes(rng)) is True
        assert yes_or_no(phrasing.no(rng)) is False
        text, number = phrasing.slot(rng)
        assert option_number(text, 4) == number, text
        assert option_number(phrasing.dose(rng), 2) == 2
    assert len({phrasing.yes(rng) for _ in range(300)}) > 40


def test_identities_have_valid_niks_names_and_phones():
    from backends.shared.identity import normalize_phone, parse_nik
    taken = {"901234"}
    people = identities.identities(500, seed=3, taken_suffixes=taken)
    assert len({p.nik for p in people}) == 500 and len({p.nik_suffix for p in people}) == 500
    assert "901234" not in {p.nik_suffix for p in people} and len(taken) == 501
    assert len({p.phone for p in people}) == 500
    for person in people:
        info = parse_nik(person.nik, today=dt.date(2026, 12, 4))   # raises on an invalid NIK
        assert info.birth_date == person.birth_date and info.sex == person.sex
        assert re.fullmatch(r"0815\d{8}", person.phone) and normalize_phone(person.phone) == "+62" + person.phone[1:]
        assert person.name.split()[0] in (identities.WOMEN if person.sex == "P" else identities.MEN)
    assert {p.sex for p in people} == {"L", "P"}
    assert identities.identities(20, seed=3) == identities.identities(20, seed=3)
    assert identities.corrected_name(people[0]).startswith(people[0].name + " Putr")


def test_patch_plan_spreads_the_baselines():
    plan = run_module.patch_plan(["a", "b", "c", "d", "e"], baselines=3)
    assert plan == ["baseline", "-a", "-b", "-c", "baseline", "-d", "-e", "baseline"]
    assert run_module.patch_plan(["a"], baselines=0) == ["-a"]
    assert run_module.patch_plan(["a", "b"], baselines=4).count("baseline") == 4
    assert run_module.patch_plan([], baselines=3) == ["baseline"] * 3   # only sets measured


def test_a_set_installed_alone_gives_the_gain_of_all_the_others_together():
    def run(setup, rate):
        return dict(level(setup, 10, rate, 100, mode="capacity"), setup=setup)
    results = [run("patch:baseline", 80.0), run("patch:=action_validation,graph_plans", 50.0),
               run("patch:baseline", 84.0), run("patch:=", 20.0)]
    rows = {row["name"]: row for row in stats.patch_gains(results)["patches"]}
    assert rows["all but action_validation,graph_plans"]["gain"] == round(82 / 50 - 1, 3)
    assert rows["all but action_validation,graph_plans"]["beyond_noise"] is True
    assert rows["all but none"]["msgs_per_s_without"] == 20.0


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


def test_a_detour_answers_the_question_the_bot_did_ask():
    turn = Turn("saya prerawat mau vaksin", ("6 digit terakhir",), step="register",
                detour=("tenaga kesehatan", Turn("ya", ("6 digit terakhir",), step="yes")))
    asked = [{"text": "Apakah Anda seorang tenaga kesehatan (nakes)?"}]
    assert reply_problem(turn, asked) is None and detour_taken(turn, asked).text == "ya"
    direct = [{"text": "Silakan kirim *6 digit terakhir* NIK Anda"}]
    assert reply_problem(turn, direct) is None and detour_taken(turn, direct) is None
    assert reply_problem(turn, [{"text": "Halo"}]) == "off-script: lacks '6 digit terakhir'"

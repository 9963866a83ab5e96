import datetime as dt

import pytest

from actions import parsing


@pytest.mark.parametrize("text, expected", [
    ("ya", True), ("iya lagi hamil", True), ("betul", True), ("ada", True), ("Y", True),
    ("tidak", False), ("gak ada", False), ("tdk pernah", False), ("nggak", False), ("bukan", False),
    ("belum", False), ("tidak ada, saya sehat", False), ("mungkin", None), ("123", None), ("", None),
])
def test_yes_or_no_in_any_phrasing(text, expected):
    assert parsing.yes_or_no(text) is expected


def test_the_nlu_intent_wins_when_it_is_affirm_or_deny():
    assert parsing.yes_or_no("hmm", "affirm") is True
    assert parsing.yes_or_no("ya", "deny") is False


@pytest.mark.parametrize("text, expected", [("2", 2), ("no 2", 2), ("nomor 3", 3), ("yang ke-1", 1), ("6", None),
                                            ("0", None), ("12 Januari", None), ("dua", None)])
def test_choice_numbers(text, expected):
    assert parsing.choice_number(text, 5) == expected


@pytest.mark.parametrize("text, expected", [
    ("15-03-1985", dt.date(1985, 3, 15)), ("15/3/1985", dt.date(1985, 3, 15)), ("15 Maret 1985", dt.date(1985, 3, 15)),
    ("lahir 7 agustus 1985", dt.date(1985, 8, 7)), ("7 agt 85", dt.date(1985, 8, 7)), ("1.1.2001", dt.date(2001, 1, 1)),
    ("31-02-1990", None), ("kemarin", None), ("15 bulan 1985", None),
])
def test_birth_dates(text, expected):
    assert parsing.birth_date(text) == expected


TODAY = dt.date(2021, 1, 20)  # a Wednesday


@pytest.mark.parametrize("text, expected", [
    ("besok", dt.date(2021, 1, 21)), ("lusa pagi", dt.date(2021, 1, 22)), ("25 januari", dt.date(2021, 1, 25)),
    ("tgl 25/1 siang", dt.date(2021, 1, 25)), ("2 februari", dt.date(2021, 2, 2)), ("hari senin", dt.date(2021, 1, 25)),
    ("rabu", dt.date(2021, 1, 27)), ("10 januari", dt.date(2022, 1, 10)), ("yang pagi", None),
])
def test_dates_in_a_schedule_choice(text, expected):
    assert parsing.mentioned_date(text, TODAY) == expected


def test_indonesian_date():
    assert parsing.indonesian_date(dt.date(2021, 1, 25)) == "Senin, 25 Januari 2021"


@pytest.mark.parametrize("text, expected", [("cek nks-ab23cd45 ya", "NKS-AB23CD45"), ("NKS AB23CD45", "NKS-AB23CD45"),
                                            ("NKS-AB23CD4", None), ("NKS-AB23CD4I", None)])
def test_submission_reference(text, expected):
    assert parsing.submission_reference(text) == expected


def test_numbered_choices_work_by_number_and_by_button():
    from rasa_sdk.executor import CollectingDispatcher

    from actions.forms import ask_numbered_choice

    dispatcher = CollectingDispatcher()
    ask_numbered_choice(dispatcher, "utter_ask_pl_field", ["Nama", "Nomor HP"], ["Nama", "Nomor HP"], extra="x")
    [message] = dispatcher.messages
    assert message["options"] == "1. Nama\n2. Nomor HP" and message["extra"] == "x"
    assert message["buttons"] == [{"title": "Nama", "payload": "1"}, {"title": "Nomor HP", "payload": "2"}]


def test_the_phone_number_in_an_answer_comes_from_the_nlu_entity():
    said = {"entities": [{"entity": "phone_number", "value": "+6281110000001"}]}
    assert parsing.typed_phone(said, "nomor saya 0811 1000 0001 ya min") == "+6281110000001"


def test_a_short_answer_without_an_entity_goes_to_the_backend_as_its_digit_run():
    assert parsing.typed_phone({"entities": []}, " 0811-1000-0001 ") == "081110000001"
    assert parsing.typed_phone({"entities": []}, "0811 - 1000 - 0001") == "081110000001"
    assert parsing.typed_phone({"entities": []}, "+62 811 1000 0001") == "+6281110000001"
    assert parsing.typed_phone({}, "12345") == "12345"  # the backend explains what is wrong with it
    # Typed JSON values from `/inform{...}` are not phone numbers.
    assert parsing.typed_phone({"entities": [{"entity": "phone_number", "value": 1e309}]}, "x") is None


def test_codes_are_read_with_any_separator_but_only_as_one_number():
    assert parsing.single_code("123 - 456", 6) == "123456"
    assert parsing.single_code("kode nya 123456 ya", 6) == "123456"
    assert parsing.single_code("1 2 3 4 5 6", 6) == "123456"
    assert parsing.single_code("1a2b3c4d5e6f", 6) == ""
    assert parsing.single_code("123456 atau 654321", 6) == ""
    assert parsing.single_code("12345", 6) == ""


def test_a_sentence_without_a_mobile_number_is_not_a_phone_number():
    assert parsing.typed_phone({"entities": []}, "saya tidak ingat nomor yang dulu saya daftarkan") is None
    two = {"entities": [{"entity": "phone_number", "value": "+6281110000001"},
                        {"entity": "phone_number", "value": "+6281110000002"}]}
    assert parsing.typed_phone(two, "0811 1000 0001 atau 0811 1000 0002") is None


LOST = ["saya lupa no hp yg didaftarkan", "nomor hilang", "hp saya hilang", "nomornya udah mati", "nomor sudah tidak aktif",
        "ga inget nomor yg didaftarin", "kartu sim ilang min", "HP SAYA KECURIAN", "no hp lama sdh mati kak",
        "nomer saya udah ganti", "lupa nomer hp nya", "hpnya dicopet bulan lalu", "simcard saya hangus",
        "nmr ga aktif lagi", "nomor yang dulu didaftarkan gak dipake lagi"]
NOT_LOST = ["081234567890", "kode belum masuk", "123456", "halo", "mau ganti nomor", "no hp saya 0812 3456 7890",
            "kodenya 123 456", "hp saya lagi ga ada sinyal", "sudah", "ya", "kirim ulang kodenya"]


@pytest.mark.parametrize("text", LOST)
def test_a_lost_or_dead_number_is_recognised(text):
    assert parsing.says_number_is_lost(text)


@pytest.mark.parametrize("text", NOT_LOST + [None, 123])
def test_numbers_codes_and_other_answers_are_not_a_lost_number(text):
    assert not parsing.says_number_is_lost(text)

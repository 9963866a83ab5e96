"""The values IndonesianValueExtractor finds in chat messages (indonesian_text/entities.py)."""
import datetime as dt

import pytest

from indonesian_text.entities import find_entities

TODAY = dt.date(2021, 1, 20)  # a Wednesday
PROFESSIONS = {"profession": ["perawat", "perawat gigi", "dokter", "dokter gigi", "drg", "bidan"]}


def found(text):
    return [(e.entity, e.value) for e in find_entities(text, TODAY, PROFESSIONS)]


@pytest.mark.parametrize("text, expected", [
    ("3171055306900012", [("nik", "3171055306900012")]),
    ("nik saya 3171 0553 0690 0012", [("nik", "3171055306900012")]),
    ("3578-1204-8806-0011", [("nik", "3578120488060011")]),
    ("6 digit terakhir nik saya 441208", [("nik_suffix", "441208")]),
    ("nik belakangnya 290611", [("nik_suffix", "290611")]),
    ("kode otp 123456", [("otp_code", "123456")]),
    ("kodenya 4821", [("otp_code", "4821")]),
    # Six digits alone: the question the bot asked decides what they are.
    ("123456", [("number", "123456")]),
    ("12 34 56", [("number", "123456")]),
])
def test_nik_digits_and_codes(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("081234567890", "+6281234567890"),
    ("no hp sy 0821-4455-6677", "+6282144556677"),
    ("+62 812 3456 7890", "+6281234567890"),
    ("6281398765432", "+6281398765432"),
    ("nomor baru saya 0856 1234 5678 ya", "+6285612345678"),
])
def test_mobile_numbers_in_any_spelling_become_e164(text, expected):
    assert found(text) == [("phone_number", expected)]


def test_a_landline_or_a_short_number_is_not_a_mobile_number():
    assert ("phone_number", "+62215551234") not in found("telepon kantor 021 555 1234")
    assert found("0812345") == [("number", "0812345")]


@pytest.mark.parametrize("text, expected", [
    ("25 januari pagi", "2021-01-25"), ("20 Januari", "2021-01-20"), ("tgl 25/1", "2021-01-25"),
    ("besok siang", "2021-01-21"), ("lusa", "2021-01-22"), ("hari ini", "2021-01-20"),
    ("hari senin bisa?", "2021-01-25"), ("10 januari", "2022-01-10"), ("2 feb", "2021-02-02"),
    ("15-03-1985", "1985-03-15"), ("lahir 1 januari 1990", "1990-01-01"), ("1988-06-21", "1988-06-21"),
    ("7 agt 85", "1985-08-07"),
])
def test_indonesian_dates_become_iso_dates(text, expected):
    assert found(text) == [("date", expected)]


def test_an_impossible_date_is_not_a_date():
    assert [e for e, _ in found("31-02-1990")] != ["date"]


@pytest.mark.parametrize("text, expected", [
    ("nama saya Siti Aminah", "Siti Aminah"),
    ("atas nama Yohanes Pardede", "Yohanes Pardede"),
    ("namanya dr. Nur Aisyah", "dr. Nur Aisyah"),
    ("ganti nama jadi budi santoso ya min", "budi santoso"),
    ("nama: Ni Made Ayu Lestari, perawat", "Ni Made Ayu Lestari"),
    ("seharusnya Dewi Kartika", "Dewi Kartika"),
])
def test_names_after_the_words_that_introduce_them(text, expected):
    assert ("person_name", expected) in found(text)


@pytest.mark.parametrize("text", ["nama saya salah", "nama di sertifikat salah", "seharusnya besok",
                                  "harusnya saya sudah dapat sms"])
def test_no_name_where_none_was_given(text):
    assert "person_name" not in [entity for entity, _ in found(text)]


@pytest.mark.parametrize("text, expected", [("saya perawat gigi", "perawat gigi"), ("dokter gigi", "dokter gigi"),
                                            ("Bidan", "Bidan"), ("saya drg di puskesmas", "drg")])
def test_professions_from_the_lookup_table_longest_first(text, expected):
    assert found(text) == [("profession", expected)]


@pytest.mark.parametrize("text, expected", [("2", "2"), ("nomor 3", "3"), ("yang ke 2", "2"), ("no. 1", "1"),
                                            ("pilih 4 aja", "4"), ("1.", "1")])
def test_menu_numbers(text, expected):
    assert found(text) == [("option_number", expected)]


@pytest.mark.parametrize("text", ["vaksin ke 2 kapan", "dosis 2 dimana", "2 orang"])
def test_a_number_inside_a_sentence_is_not_a_menu_choice(text):
    assert "option_number" not in [entity for entity, _ in found(text)]


def test_submission_reference_is_normalized():
    assert found("cek nks-ab23cd45 ya") == [("submission_reference", "NKS-AB23CD45")]


def test_spans_point_at_the_text_and_never_overlap():
    text = "nama saya Siti Aminah, nik 3171055306900012, hp 081234567890, lahir 13-06-1990"
    entities = find_entities(text, TODAY)
    assert [e.entity for e in entities] == ["person_name", "nik", "phone_number", "date"]
    for entity in entities:
        assert text[entity.start:entity.end].replace(" ", "").replace("-", "") != ""
    spans = sorted((e.start, e.end) for e in entities)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))

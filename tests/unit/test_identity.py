import datetime as dt

import pytest

from backends.shared.identity import (InvalidIdentity, normalize_name, normalize_phone, parse_nik,
                                      parse_nik_suffix)

TODAY = dt.date(2021, 6, 1)


def test_valid_nik_for_a_man():
    info = parse_nik("3273011503850007", today=TODAY)
    assert info.province == "Jawa Barat"
    assert info.birth_date == dt.date(1985, 3, 15)
    assert info.sex == "L"


def test_women_have_forty_added_to_the_birth_day():
    info = parse_nik("3578 0247 0885 0007", today=TODAY)
    assert info.birth_date == dt.date(1985, 8, 7)
    assert info.sex == "P"


def test_two_digit_year_in_this_century_when_not_in_the_future():
    assert parse_nik("3174050101150001", today=TODAY).birth_date == dt.date(2015, 1, 1)
    assert parse_nik("3174050101300001", today=TODAY).birth_date == dt.date(1930, 1, 1)


@pytest.mark.parametrize("nik, reason", [
    ("327301150385000", "nik_length"),
    ("32730115038500071", "nik_length"),
    ("32730115038500A7", "nik_not_digits"),
    ("9973011503850007", "nik_province"),
    ("2073011503850007", "nik_province"),
    ("3200011503850007", "nik_region"),
    ("3273013203850007", "nik_birth_date"),   # day 32
    ("3273017203850007", "nik_birth_date"),   # day 72 (32 for a woman)
    ("3273011513850007", "nik_birth_date"),   # month 13
    ("3273013002850007", "nik_birth_date"),   # 30 February
    ("3273011503850000", "nik_serial"),
])
def test_invalid_niks_say_why(nik, reason):
    with pytest.raises(InvalidIdentity) as error:
        parse_nik(nik, today=TODAY)
    assert error.value.reason == reason
    assert error.value.detail.isascii()  # for developers; the user's words are the domain's (by reason)


def test_leap_day_only_in_leap_years():
    assert parse_nik("3174052902880001", today=TODAY).birth_date == dt.date(1988, 2, 29)
    with pytest.raises(InvalidIdentity):
        parse_nik("3174052902890001", today=TODAY)


@pytest.mark.parametrize("typed, expected", [("123456", "123456"), ("12 34 56", "123456"), ("12-34-56", "123456")])
def test_nik_suffix_accepts_spaces_and_dashes(typed, expected):
    assert parse_nik_suffix(typed) == expected


@pytest.mark.parametrize("typed, reason", [
    ("12345", "suffix_length"), ("1234567", "suffix_length"), ("12a456", "suffix_not_digits"),
    ("3273011503850007", "suffix_full_nik"), ("", "suffix_not_digits"),
])
def test_nik_suffix_corrections_are_specific(typed, reason):
    with pytest.raises(InvalidIdentity) as error:
        parse_nik_suffix(typed)
    assert error.value.reason == reason


@pytest.mark.parametrize("typed", ["081234567890", "+6281234567890", "6281234567890", "0812-3456-7890",
                                   "0812 3456 7890", "+62 812 3456 7890"])
def test_phone_numbers_normalize_to_e164(typed):
    assert normalize_phone(typed) == "+6281234567890"


@pytest.mark.parametrize("typed, reason", [
    ("12345", "phone_invalid"), ("+14155552671", "phone_invalid"), ("halo", "phone_format"),
    ("0215551234", "phone_not_mobile"),
])
def test_bad_phone_numbers(typed, reason):
    with pytest.raises(InvalidIdentity) as error:
        normalize_phone(typed)
    assert error.value.reason == reason


@pytest.mark.parametrize("typed, expected", [("Siti  Rahmawati ", "Siti Rahmawati"), ("Ni Made Ayu", "Ni Made Ayu"),
                                             ("R.A. Kartini", "R.A. Kartini"), ("D'Silva-Putri", "D'Silva-Putri"),
                                             ("Al", "Al")])
def test_names_as_on_the_ktp(typed, expected):
    assert normalize_name(typed) == expected


@pytest.mark.parametrize("typed, reason", [("S", "name_length"), ("x" * 101, "name_length"),
                                           ("Siti 123", "name_characters"), ("Budi_S", "name_characters"),
                                           ("..", "name_letters"), ("A.", "name_letters")])
def test_bad_names(typed, reason):
    with pytest.raises(InvalidIdentity) as error:
        normalize_name(typed)
    assert error.value.reason == reason

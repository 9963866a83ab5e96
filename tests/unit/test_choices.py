"""Which offered option a message means (indonesian_text/choices.py): every way people refer to a slot."""
import datetime as dt

import pytest

from indonesian_text.choices import Option, choose, option_number

TODAY = dt.date(2026, 12, 3)  # a Thursday
# Offered: 1 Fri 4 Dec pagi, 2 Fri 4 Dec siang, 3 Mon 7 Dec pagi, 4 Mon 7 Dec siang, 5 Wed 9 Dec pagi
OFFERED = [Option(dt.date(2026, 12, 4), "pagi"), Option(dt.date(2026, 12, 4), "siang"),
           Option(dt.date(2026, 12, 7), "pagi"), Option(dt.date(2026, 12, 7), "siang"),
           Option(dt.date(2026, 12, 9), "pagi")]


@pytest.mark.parametrize("text, picked", [
    # bare or explicit numbers
    ("2", 2), ("2.", 2), ("nomor 2", 2), ("no 3", 3), ("pilih 4", 4), ("pilih 4 aja", 4), ("yg ke-2", 2),
    ("yang ke 5 ya", 5), ("nomor dua", 2), ("pilihan tiga", 3),
    # ordinals
    ("yang pertama", 1), ("yg pertama aja", 1), ("pilihan kedua", 2), ("yang terakhir", 5), ("yg terakhir aja", 5),
    ("yang paling cepat", 1), ("secepatnya", 1),
    # a day of the month always means that day, never option 7 or 9
    ("tgl 7 desember siang", 4), ("tanggal 9 pagi aja", 5), ("tgl 9", 5), ("9 des", 5), ("9/12", 5),
    ("7 desember pagi", 3), ("tanggal 7 jam 9", 3), ("tgl 7 jam 1 siang", 4), ("tgl 7 sore", 4),
    # relative days and weekdays
    ("besok pagi", 1), ("besok siang aja", 2), ("besok jam 2", 2), ("senin pagi", 3), ("hari senin siang", 4),
    ("rabu", 5), ("rabu pagi", 5), ("jumat siang", 2), ("jum'at pagi", 1),
    # an ordinal among the options of a day
    ("tanggal 7 yang kedua", 4), ("senin yang pertama", 3),
])
def test_each_phrasing_picks_the_slot_the_user_meant(text, picked):
    assert choose(text, OFFERED, TODAY).picked == picked


@pytest.mark.parametrize("text, candidates", [
    ("tgl 7", [3, 4]), ("7 desember", [3, 4]), ("besok", [1, 2]), ("hari senin", [3, 4]), ("yang pagi", [1, 3, 5]),
    ("siang", [2, 4]),
])
def test_a_message_that_fits_several_slots_asks_back_with_those(text, candidates):
    choice = choose(text, OFFERED, TODAY)
    assert choice.picked is None and choice.candidates == candidates and choice.is_ambiguous


@pytest.mark.parametrize("text", ["7", "9", "nomor 7", "tgl 8", "8 desember pagi", "minggu depan", "kapan aja",
                                  "tgl 9 siang", "halo"])
def test_nothing_offered_is_never_guessed(text):
    choice = choose(text, OFFERED, TODAY)
    assert choice.picked is None and len(choice.candidates) <= 1 and choice.candidates == []


def test_option_numbers_in_other_lists():
    assert option_number("yang kedua", 3) == 2 and option_number("terakhir", 3) == 3
    assert option_number("4", 3) is None and option_number("vaksin ke 2 kapan", 3) is None

"""Conversations as real users have them (issue: dates, changes of mind, switching flows, what the user
already said, once is once), over the REST channel against the running services.

Phrasings are generated from what the bot offered, the way people refer to it: numbers, ordinals,
dates with and without the month, weekdays, "besok", sessions and hours, informal spellings."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import requests
from sqlalchemy import create_engine, text

from backends.shared.clock import today_wib
from indonesian_text.dates import DAY_NAMES, MONTH_NAMES
from tests.conversation.harness import texts
from tests.conversation.test_vaccine_registration import answer_screening, identify

SCREENING_QUESTIONS = 7
ORDINAL_WORDS = {1: "pertama", 2: "kedua", 3: "ketiga", 4: "keempat", 5: "kelima"}
_SLOT_LINE = re.compile(r"^(\d)\. (\w+), (\d{1,2}) (\w+) (\d{4}), sesi (pagi|siang)", re.MULTILINE)


def new_user() -> str:
    return f"real-{uuid.uuid4().hex[:8]}"


def offered_slots(reply: str):
    """(number, date, session) of every slot in the bot's list."""
    return [(int(n), dt.date(int(y), MONTH_NAMES.index(month), int(d)), session)
            for n, _, d, month, y, session in _SLOT_LINE.findall(reply)]


_USED = set()


def fresh_health_worker(assistant):
    """(last 6 NIK digits, birth date) of a seeded health worker nobody else's test uses: unique digits,
    no appointment yet (the demo identities of the README are shared by other tests)."""
    engine = create_engine(f"sqlite:///{assistant.workdir / 'data' / 'registration.sqlite3'}")
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT t.nik_suffix, t.birth_date FROM targets t WHERE t.id > 4 AND NOT EXISTS "
            "(SELECT 1 FROM appointments a WHERE a.target_id = t.id) AND (SELECT COUNT(*) FROM targets u "
            "WHERE u.nik_suffix = t.nik_suffix) = 1 ORDER BY t.id")).all()
    engine.dispose()
    suffix, born = next((s, b) for s, b in rows if s not in _USED)
    _USED.add(suffix)
    return suffix, dt.date.fromisoformat(str(born)[:10])


def to_slot_list(assistant, user):
    suffix, born = fresh_health_worker(assistant)
    identify(assistant, user, suffix, born.strftime("%d-%m-%Y"))
    assistant.say(user, "ya")
    return suffix, born, texts(answer_screening(assistant, user, ["tidak"] * SCREENING_QUESTIONS))


def phrasings(number, day, session, offered, today):
    """At least 8 ways to refer to one offered slot; the ones that could also mean another slot
    are expected to be asked back."""
    month = MONTH_NAMES[day.month].lower()
    weekday = DAY_NAMES[day.weekday()].lower()
    hour = "9" if session == "pagi" else "2 siang"
    said = [f"{number}", f"nomor {number}", f"pilih {number} aja", f"yg ke-{number}",
            f"yang {ORDINAL_WORDS[number]}", f"tgl {day.day} {month} {session}", f"tanggal {day.day} {session} aja",
            f"{day.day}/{day.month} {session}", f"{weekday} {session}", f"tgl {day.day} jam {hour}",
            f"{day.day} {month[:3]} {'pagi' if session == 'pagi' else 'sore'}",
            # without the session: one slot that day is picked, two are asked back
            f"tgl {day.day}", f"hari {weekday} aja"]
    if number == len(offered):
        said.append("yang terakhir")
    if day == today + dt.timedelta(days=1):
        said.append(f"besok {session}")
    return said


def test_every_offered_slot_in_many_phrasings_is_the_one_meant_or_asked_back(assistant):
    user = new_user()
    suffix, born, listing = to_slot_list(assistant, user)
    offered = offered_slots(listing)
    assert len(offered) >= 2, listing
    today, tried, asked_back = today_wib(), 0, 0
    for number, day, session in offered:
        intended = f"{DAY_NAMES[day.weekday()]}, {day.day} {MONTH_NAMES[day.month]} {day.year}, sesi {session}"
        for phrase in phrasings(number, day, session, offered, today):
            reply = texts(assistant.say(user, phrase))
            tried += 1
            if "Maksud Anda yang mana" in reply:
                # Asked back with the slots it could mean: the intended one is among them, then by number.
                asked_back += 1
                assert intended in reply, (phrase, reply)
                reply = texts(assistant.say(user, str(number)))
            assert "Apakah jadwal ini sudah benar" in reply and intended in reply, (phrase, reply)
            # A change of mind goes back to the list, keeping everything else.
            back = texts(assistant.say(user, "ga jadi, mau jadwal lain"))
            assert "jadwal lain" in back and "1. " in back and "tanggal lahir" not in back, (phrase, back)
    assert tried >= 8 * len(offered)
    # The last one is booked: the booking is the slot the user meant.
    number, day, session = offered[-1]
    assistant.say(user, f"tgl {day.day} {MONTH_NAMES[day.month]} {session}")
    assert "Pendaftaran berhasil" in texts(assistant.say(user, "ya"))
    lookup = requests.post(f"{assistant.urls['registration']}/v1/targets/lookup",
                           json={"nik_suffix": suffix, "birth_date": born.isoformat()},
                           headers={"X-API-Key": "dev-registration-key"}, timeout=10).json()
    booked = requests.get(f"{assistant.urls['registration']}/v1/targets/{lookup['target_id']}/appointment",
                          headers={"X-API-Key": "dev-registration-key"}, timeout=10).json()
    assert (booked["date"], booked["session"]) == (day.isoformat(), session)
    print(f"slot phrasings: {tried} tried, {asked_back} asked back, 0 wrong")


def test_a_day_that_is_not_offered_is_never_taken_for_a_number(assistant):
    user = new_user()
    offered = offered_slots(to_slot_list(assistant, user)[2])
    offered_days = {day.day for _, day, _ in offered}
    free_day = next(d for d in range(1, 6) if d not in offered_days)
    reply = texts(assistant.say(user, f"tgl {free_day} pagi"))
    assert "tidak ada jadwal" in reply and "Apakah jadwal ini sudah benar" not in reply


def test_changing_ones_mind_keeps_everything_else(assistant):
    user = new_user()
    to_slot_list(assistant, user)
    assert "Apakah jadwal ini sudah benar" in texts(assistant.say(user, "1"))
    for change in ("mau jadwal lain aja", "ganti jadwal", "jadwalnya salah, pilih lagi"):
        back = texts(assistant.say(user, change))
        assert "1. " in back and "sesi" in back and "Mohon jawab" not in back, (change, back)
        assert "Apakah jadwal ini sudah benar" in texts(assistant.say(user, "2"))
    site = texts(assistant.say(user, "ganti lokasi"))
    assert "lokasi" in site and ("bersedia" in site or "pilih lokasi" in site.lower())
    assert "sesi" in texts(assistant.say(user, "ya"))  # the same site again: straight back to the slots
    assert "Apakah jadwal ini sudah benar" in texts(assistant.say(user, "1"))
    # "ga jadi" alone is confirmed first; "tidak" keeps going.
    asked = texts(assistant.say(user, "ga jadi deh"))
    assert "membatalkan" in asked
    assert "Apakah jadwal ini sudah benar" in texts(assistant.say(user, "tidak"))
    cancelled = texts(assistant.say(user, "batalkan pendaftaran"))
    assert "dibatalkan" in cancelled and "hapus" in cancelled


def test_another_flow_asked_for_inside_a_form_is_offered_as_a_switch(assistant):
    user = new_user()
    assistant.say(user, "unduh sertifikat")
    assert "OTP" in texts(assistant.say(user, "081110000004"))
    offer = texts(assistant.say(user, "sy mau daftar vaksin nakes aja"))
    assert "beralih" in offer and "Daftar vaksinasi nakes" in offer and "6 angka" not in offer
    started = texts(assistant.say(user, "ya"))
    assert "tenaga kesehatan" in started.lower()


def test_greetings_and_menu_inside_a_form_say_how_to_leave_and_the_form_goes_on(assistant):
    user = new_user()
    assistant.say(user, "Vaksin")
    assistant.say(user, "ya")
    for text in ("halo", "menu", "permisi kak, selamat siang"):
        reply = texts(assistant.say(user, text))
        assert "batal" in reply and "6 digit terakhir" in reply, (text, reply)
    switched_back = texts(assistant.say(user, "mau daftar vaksin"))
    assert "sedang berada di tengah proses" in switched_back and "6 digit terakhir" in switched_back


def test_what_the_user_already_said_is_used(assistant):
    user = new_user()
    reply = texts(assistant.say(user, "saya perawat, mau daftar vaksin"))
    assert "6 digit terakhir" in reply and "Apakah Anda seorang tenaga kesehatan" not in reply
    user = new_user()
    assistant.say(user, "saya nakes tapi belum dapat sms")
    assistant.say(user, "3171016501920003")
    assistant.say(user, "Rini Marlina")
    for typed in ("prwt", "sy bidan"):
        reply = texts(assistant.say(user, typed))
        assert "Profesi tidak dikenali" not in reply and "fasilitas" in reply.lower(), (typed, reply)
        assert "profesi" in texts(assistant.say(user, "profesi saya salah")).lower()


def _submit(assistant, user, nik, phone, name="Rini Marlina"):
    assistant.say(user, "saya nakes tapi belum dapat sms")
    assistant.say(user, nik)
    assistant.say(user, name)
    assistant.say(user, "4")
    assistant.say(user, "Klinik Pratama Sehat")
    assistant.say(user, phone)
    return texts(assistant.say(user, "ya"))


def test_the_same_nik_submitted_twice_gets_the_first_reference(assistant):
    first = _submit(assistant, new_user(), "3171016501920009", "0812-3456-7890")
    reference = re.search(r"NKS-[A-Z0-9]{8}", first).group(0)
    again = _submit(assistant, new_user(), "3171016501920009", "081234567890", name="Rini Marlina Sari")
    assert reference in again and "perbarui" in again and "sedang diverifikasi" in again
    stranger = _submit(assistant, new_user(), "3171016501920009", "081399998888")
    assert reference not in stranger and "nomor HP yang berbeda" in stranger

"""The health-worker registration flow, end to end over the REST channel."""
from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlparse

import requests
from sqlalchemy import create_engine, text

from backends.shared.clock import today_wib
from tests.conversation.harness import texts

SCREENING_QUESTIONS = 7


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def images(messages):
    return [m["image"] for m in messages if m.get("image")]


BIRTH_DATES = {"900012": "13-06-1990", "880021": "4 Februari 1988", "850007": "15-03-1985", "000001": "01-01-1990"}


def identify(assistant, user, nik_suffix="900012", birth_date=None):
    """Start the registration and identify: the 6 digits, then the birth date (the second factor)."""
    assert "tenaga kesehatan" in texts(assistant.say(user, "Vaksin")).lower()
    assert "6 digit terakhir" in texts(assistant.say(user, "ya"))
    asked = texts(assistant.say(user, nik_suffix))
    assert "tanggal lahir" in asked  # digits alone never identify anyone
    digits = nik_suffix.replace(" ", "")
    return assistant.say(user, birth_date or BIRTH_DATES[digits])


def answer_screening(assistant, user, answers):
    replies = []
    for answer in answers:
        replies = assistant.say(user, answer)
    return replies


def test_happy_path_ends_with_a_ticket_the_backend_verifies(assistant):
    user = new_user()
    found = texts(identify(assistant, user, "90 00 12"))
    assert "Siti Rahmawati" in found and "Puskesmas Kecamatan Tebet" in found
    assert "1/7" in texts(assistant.say(user, "iya benar"))
    slots = texts(answer_screening(assistant, user, ["tidak", "gak", "tdk", "nggak", "tidak pernah", "tidak ada",
                                                      "bukan"]))
    assert "1. " in slots and "sesi" in slots
    confirm = texts(assistant.say(user, "1"))
    assert "Apakah jadwal ini sudah benar" in confirm
    ticket = assistant.say(user, "ya")
    summary = texts(ticket)
    assert "Pendaftaran berhasil" in summary
    assert "************0012" in summary and "3171055306900012" not in summary
    assert "video" in summary.lower() and "https://" in summary
    [image_url] = images(ticket)
    png = requests.get(image_url, timeout=10)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    code = parse_qs(urlparse(image_url).query)["code"][0]
    verified = requests.get(f"{assistant.urls['registration']}/v1/tickets/verify", params={"code": code},
                            headers={"X-API-Key": "dev-registration-key"}, timeout=10)
    assert verified.status_code == 200 and verified.json()["valid"] is True

    # Registering again shows the same appointment instead of booking twice.
    again = identify(assistant, user, "900012")
    assert "sudah memiliki jadwal" in texts(again) and images(again) == [image_url]

    # "tiket saya" shows it again after identification (digits and birth date).
    assert "memastikan identitas" in texts(assistant.say(user, "tiket saya"))
    assert "tanggal lahir" in texts(assistant.say(user, "900012"))
    shown = assistant.say(user, "13 juni 1990")
    assert images(shown) == [image_url]


def test_not_a_health_worker_gets_the_other_channels(assistant):
    user = new_user()
    assistant.say(user, "mau daftar vaksin")
    reply = texts(assistant.say(user, "bukan"))
    assert "pedulilindungi.id" in reply and "*119#" in reply and "119 ext 9" in reply


def test_digits_reveal_nobody_until_the_birth_date_matches(assistant):
    user = new_user()
    assistant.say(user, "Vaksin")
    assistant.say(user, "ya")
    asked = texts(assistant.say(user, "850007"))
    assert "tanggal lahir" in asked and "Budi" not in asked and "Dewi" not in asked
    wrong = texts(assistant.say(user, "01-01-1990"))
    assert "tidak kami temukan" in wrong and "Budi" not in wrong and "Dewi" not in wrong
    found = texts(identify(assistant, user, "850007", "7 Agustus 1985"))
    assert "Dewi Lestari" in found and "Budi" not in found


def test_unknown_digits_lead_to_the_data_submission(assistant):
    user = new_user()
    reply = texts(identify(assistant, user, "000001"))
    assert "tidak kami temukan" in reply and "mengirimkan data" in reply
    assert "NIK lengkap" in texts(assistant.say(user, "ya"))
    assert "16 digit" in texts(assistant.say(user, "3171 0165 0192"))            # too short
    assert "kode provinsi" in texts(assistant.say(user, "9971016501920003"))     # bad province
    assert "nama lengkap" in texts(assistant.say(user, "3171016501920003"))
    assert "huruf" in texts(assistant.say(user, "R1n1"))
    assert "profesi" in texts(assistant.say(user, "Rini Marlina")).lower()
    assert "fasilitas" in texts(assistant.say(user, "4")).lower()                # 4 = bidan
    assert "nomor HP" in texts(assistant.say(user, "Klinik Pratama Sehat"))
    summary = texts(assistant.say(user, "0812-3456-7890"))
    assert "************0003" in summary and "Bidan".lower() in summary.lower()
    assert "3171016501920003" not in summary
    assert "Data mana" in texts(assistant.say(user, "tidak"))
    assert "nama lengkap" in texts(assistant.say(user, "2"))
    summary = texts(assistant.say(user, "Rini Marlina Sari"))
    assert "Rini Marlina Sari" in summary
    done = texts(assistant.say(user, "ya"))
    reference = re.search(r"NKS-[A-Z0-9]{8}", done).group(0)
    status = texts(assistant.say(user, f"cek status {reference}"))
    assert "sedang diverifikasi" in status


def test_postponed_screening(assistant):
    user = new_user()
    identify(assistant, user, "880021")
    assistant.say(user, "ya")
    reply = texts(answer_screening(assistant, user, ["ya, saya demam"] + ["tidak"] * (SCREENING_QUESTIONS - 1)))
    assert "ditunda" in reply and "sembuh" in reply


def test_cancel_and_a_question_in_the_middle(assistant):
    user = new_user()
    identify(assistant, user, "880021")
    answer = texts(assistant.say(user, "kenapa harus NIK?"))
    assert "Sistem Informasi Satu Data Vaksinasi" in answer
    assert "bersedia divaksinasi di lokasi ini" in answer        # the form asks its question again
    cancelled = texts(assistant.say(user, "batal"))
    assert "dibatalkan" in cancelled
    assert "Ada yang bisa kami bantu" in cancelled


def test_three_invalid_answers_offer_a_human(assistant):
    user = new_user()
    assistant.say(user, "Vaksin")
    assistant.say(user, "ya")
    first = texts(assistant.say(user, "abc"))
    assert "angka" in first
    assert "digit" in texts(assistant.say(user, "12345"))
    third = assistant.say(user, "3171055306900012")
    assert "6 angka terakhir" in texts(third) and "petugas" in texts(third)
    assert any(b["payload"] == "/human_handoff" for m in third for b in m.get("buttons", []))


def test_slot_taken_meanwhile_offers_the_remaining_ones(assistant):
    user = new_user()
    identify(assistant, user, "850007", "15-03-1985")        # Budi Santoso
    assistant.say(user, "ya")
    answer_screening(assistant, user, ["tidak"] * SCREENING_QUESTIONS)
    assistant.say(user, "1")
    engine = create_engine(f"sqlite:///{assistant.workdir / 'data' / 'registration.sqlite3'}")
    with engine.begin() as connection:
        # The first slot offered: the backend offers from tomorrow in WIB (UTC+7), so SQLite's UTC
        # date('now') named a slot never offered between 17:00 and 24:00 UTC.
        connection.execute(text(
            "UPDATE slots SET booked = capacity WHERE id = (SELECT s.id FROM slots s JOIN sites t ON t.id = s.site_id "
            "WHERE t.code = 'BDG-01' AND s.booked < s.capacity AND s.date > :today ORDER BY s.date, s.session "
            "LIMIT 1)"), {"today": today_wib().isoformat()})
    engine.dispose()
    reply = texts(assistant.say(user, "ya"))
    assert "baru saja penuh" in reply and "1. " in reply
    assert "Apakah jadwal ini sudah benar" in texts(assistant.say(user, "1"))
    assert "Pendaftaran berhasil" in texts(assistant.say(user, "ya"))

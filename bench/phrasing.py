"""What the simulated users type: pools of Indonesian phrasings, varied per message like real users.

Pure Python (no Locust, no Rasa) so tests/unit can check it from the Rasa venv. Every step of a
journey (greeting, asking to register, yes, no, a slot number, an FAQ question, chit-chat, ...)
has several base phrasings; `say(step, rng)` picks one and varies it the way people type on a
phone: informal spellings ("sy", "yg", "gak", "sertif"), one typo in a longer word (a swapped,
dropped, doubled or neighbouring key), casing, and filler words ("dong", "kak", "min"). Short
answers (yes/no, numbers) get only casing and a polite filler, never a typo that changes them;
NIK digits, phones and codes get only the formats people use (spaces, dashes, +62).

A journey's texts come from `random.Random(seed)`, so two bots can be sent the very same texts.
"""
from __future__ import annotations

import datetime as dt
import random
import re
from typing import Dict, List, Sequence, Tuple

# The base phrasings of each step. FAQ questions carry the fragment their answer must contain.
GREETINGS = ("halo", "hai", "selamat pagi", "selamat siang", "selamat sore", "assalamualaikum", "permisi",
             "halo admin", "pagi min", "halo kak", "hallo", "hi", "met siang", "selamat malam", "halo, selamat pagi",
             "assalamualaikum wr wb")
REGISTER = ("mau daftar vaksin", "saya mau daftar vaksin", "daftar vaksinasi", "saya ingin mendaftar vaksinasi",
            "bagaimana cara daftar vaksin", "mau vaksin", "saya mau vaksin covid", "pengen daftar vaksinasi",
            "mau booking jadwal vaksin", "mau pesan jadwal vaksin", "vaksin", "daftar vaksin covid 19",
            "mohon info cara daftar vaksin", "aku mau vaksin", "mau ikut vaksinasi covid",
            "tolong daftarkan saya vaksin")
# Saying the profession answers "are you a health worker?" before it is asked: the NIK digits come next.
REGISTER_AS_WORKER = ("saya perawat, mau daftar vaksin", "saya bidan mau ikut vaksinasi", "saya dokter mau daftar vaksinasi",
                      "saya perawat di puskesmas mau vaksin", "saya bidan, mau pesan jadwal vaksin")
BIRTH_DATE = ("{d:02d}-{m:02d}-{y}", "{d:02d}/{m:02d}/{y}", "{d} {month} {y}", "{d} {mon} {y}", "{d}-{m}-{yy:02d}",
              "{d:02d}.{m:02d}.{y}", "tgl {d} {month} {y}", "lahir {d} {month} {y}", "{y}-{m:02d}-{d:02d}")
MONTHS = ("januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus", "september", "oktober",
          "november", "desember")
YES = ("ya", "iya", "y", "ya betul", "iya benar", "betul", "benar", "iya kak", "ya benar", "yup", "iyaa",
       "iya betul", "bener", "ok", "oke", "betul sekali", "ya saya", "iya saya")
NO = ("tidak", "gak", "tdk", "nggak", "tidak pernah", "tidak ada", "gak ada", "ga", "enggak", "ngga",
      "tidak kak", "nggak ada", "gk", "tidak sama sekali", "belum pernah", "tdk ada")
SLOT = ("{n}", "no {n}", "nomor {n}", "pilih {n}", "saya pilih {n}", "yang {n}", "yg {n} aja",
        "pilih nomor {n}", "{ordinal}", "yang {ordinal}", "yg {ordinal}", "yang ke-{n}")
# Not in the pools because the model takes them for something else: "selamat tinggal" (greet), "vaksin
# covid gratis kah" (faq/not_covered), a greeting before a request ("halo kak, vaksin": greet).
# Not in the pools because indonesian_text/choices.py does not take them as a choice (a finding of
# the benchmark, docs/benchmark.md): "sesi 1", "jadwal 2", "dosis 2", "1 saja kak", "1 pak".
ORDINALS = {1: ("pertama", "kesatu"), 2: ("kedua",)}
NAME_COMPLAINT = ("nama di sertifikat salah", "nama saya di sertifikat salah", "nama di sertifikat tidak sesuai ktp",
                  "mau ganti nama di sertifikat", "nama saya salah ketik di sertifikat", "tolong ubah nama saya",
                  "nama di sertifikat vaksin keliru", "mau perbaiki nama di sertifikat", "koreksi nama saya",
                  "penulisan nama saya di sertifikat salah", "nama saya salah eja")
DOWNLOAD = ("unduh sertifikat", "download sertifikat vaksin", "minta sertifikat vaksin", "kirim sertifikat saya",
            "mau unduh sertifikat vaksin", "tolong kirim sertifikat vaksin saya", "cetak sertifikat vaksin",
            "mau download sertifikat", "sertifikat vaksin saya mana")
DOSE = ("2", "yang kedua", "dosis kedua", "no 2", "nomor 2", "yg 2", "kedua", "yang ke-2", "pilih 2")
FAQ: Dict[str, Tuple[Tuple[str, ...], str]] = {
    "vaccine_cost": (("vaksin bayar gak", "berapa biaya vaksin", "vaksinnya gratis?", "apakah vaksin berbayar",
                      "biaya vaksinasi berapa"), "gratis"),
    "vaccine_halal": (("vaksin halal gak", "apakah vaksin halal", "vaksinnya halal?", "vaksin sinovac halal kah",
                       "status halal vaksin gimana"), "halal"),
    "what_to_bring": (("apa yang harus dibawa saat vaksin", "bawa apa aja pas vaksin", "syarat bawa apa ke lokasi vaksin",
                       "perlu bawa ktp gak", "dokumen yang dibawa waktu vaksin apa"), "KTP"),
    "side_effects": (("efek samping vaksin apa aja", "habis vaksin demam normal gak", "apa efek samping vaksin",
                      "setelah vaksin pegal pegal wajar?", "efek samping vaksinasi"), "efek samping"),
    "dose_interval": (("jarak dosis 1 dan 2 berapa lama", "berapa hari jarak vaksin kedua", "jeda antar dosis berapa",
                       "kapan dosis kedua setelah dosis pertama"), "dosis"),
    "pregnancy": (("ibu hamil boleh vaksin?", "apakah ibu hamil boleh divaksin", "lagi hamil bisa vaksin gak",
                   "vaksin untuk ibu hamil aman?"), "hamil"),
    "breastfeeding": (("ibu menyusui boleh vaksin?", "lagi menyusui bisa vaksin gak", "apakah ibu menyusui boleh divaksin"),
                      "menyusui"),
    "elderly": (("lansia boleh vaksin?", "vaksin untuk lansia", "orang tua umur 70 bisa vaksin gak",
                 "apakah lansia bisa divaksin"), "Lansia"),
    "why_nik": (("kenapa harus pakai nik", "untuk apa nik saya", "kenapa minta nik", "nik buat apa"), "NIK"),
}
CHITCHAT: Dict[str, Tuple[Tuple[str, ...], str]] = {
    "bot_challenge": (("ini robot ya", "kamu manusia?", "ini bot bukan", "yang balas orang atau mesin",
                       "kamu ai ya", "ini dibalas robot?"), "asisten virtual"),
    "thank": (("terima kasih", "makasih", "makasih kak", "terimakasih infonya", "thanks min", "oke makasih ya",
               "terima kasih banyak"), "Sama-sama"),
}
GOODBYE = ("dadah", "sampai jumpa", "bye", "dah dulu ya", "sudah cukup, sampai jumpa", "sampai jumpa lagi")

# Informal spellings, chosen for a word now and then as people type them.
INFORMAL = {"saya": ("sy", "aku", "sya"), "tidak": ("gak", "tdk", "ga"), "yang": ("yg",), "mau": ("mo", "mw", "pengen"),
            "sertifikat": ("sertif", "sertifikat"), "bagaimana": ("gimana", "bgmn"), "dengan": ("dgn",),
            "untuk": ("utk", "buat"), "sudah": ("udah", "sdh"), "tolong": ("tlg",), "bisa": ("bs", "bisa"),
            "apakah": ("apa", "apakah"), "vaksin": ("vaksin", "vaxin"), "berapa": ("brp",), "boleh": ("blh",),
            "kenapa": ("knp", "napa"), "terima kasih": ("trima kasih", "terimakasih", "makasi"), "gak": ("ga", "gk")}
KEYBOARD = "qwertyuiop asdfghjkl zxcvbnm"
# Fillers by kind of message: (prefixes, suffixes); "" is the most common choice.
REQUEST = (("", "", "", "kak ", "min ", "permisi, "),
           ("", "", "", " dong", " kak", " min", " ya", " gan", " pak", " bu", " dong kak", " ya min", " please"))
QUESTION = (("", "", "", "kak ", "min ", "mau tanya, "),
            ("", "", "", " kak", " min", " ya", " gan", "?", " kak?", " ya min", " dok", " sih"))
SOCIAL = (("", "", "", "oke ", "baik "), ("", "", "", " kak", " min", " ya", "!", " ya kak"))
GREETING = (("",), ("", "", "", " kak", " min", " admin", "!", " semuanya"))
SHORT_SUFFIXES = ("", "", "", " kak", " min", " pak", " bu", ".")
CHOICE_SUFFIXES = ("", "", "", " kak", " min")    # indonesian_text/choices.py takes these after a number
FILLER_WORDS = {"kak", "min", "pak", "bu", "ya", "dong", "gan", "admin"}

TYPO_CHANCE = 0.2
INFORMAL_CHANCE = 0.3


def vary_case(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.65:
        return text.lower()
    if roll < 0.9:
        return text[:1].upper() + text[1:]
    if roll < 0.95:
        return text.title()
    return text.upper()


def informal(text: str, rng: random.Random, chance: float = INFORMAL_CHANCE) -> str:
    for formal, spellings in INFORMAL.items():
        if rng.random() < chance:
            text = re.sub(rf"\b{formal}\b", rng.choice(spellings), text)
    return text


def typo(text: str, rng: random.Random) -> str:
    """One typo in one word of five letters or more: swapped, dropped, doubled or a neighbouring key."""
    words = [(m.start(), m.end()) for m in re.finditer(r"[a-zA-Z]{5,}", text)]
    if not words:
        return text
    start, end = rng.choice(words)
    word = text[start:end]
    at = rng.randrange(1, len(word) - 2)   # the first and last letters stay, as in most typos
    kind = rng.choice(("swap", "drop", "double", "neighbour"))
    if kind == "swap":
        changed = word[:at] + word[at + 1] + word[at] + word[at + 2:]
    elif kind == "drop":
        changed = word[:at] + word[at + 1:]
    elif kind == "double":
        changed = word[:at] + word[at] + word[at:]
    else:
        row = next((r for r in KEYBOARD.split() if word[at].lower() in r), None)
        if row is None:
            return text
        index = row.index(word[at].lower())
        near = [row[i] for i in (index - 1, index + 1) if 0 <= i < len(row)]
        changed = word[:at] + rng.choice(near) + word[at + 1:]
    if changed.lower() == word.lower():   # swapping two equal letters: drop one instead
        changed = word[:at] + word[at + 1:]
    return text[:start] + changed + text[end:]


def _join(prefix: str, text: str, suffix: str) -> str:
    words = text.lower().replace("?", "").replace(",", "").split()
    if prefix.strip(" ,").lower() in FILLER_WORDS and words and words[0] in FILLER_WORDS:
        prefix = ""
    if suffix.strip(" ?!.").split()[:1] and suffix.strip(" ?!.").split()[0].lower() in FILLER_WORDS \
            and words and words[-1] in FILLER_WORDS:
        suffix = ""
    if text.endswith("?") and suffix.endswith("?"):
        suffix = suffix[:-1]
    return prefix + text + suffix


def sentence(base: str, rng: random.Random, style=REQUEST) -> str:
    """A free-text message: informal spellings, maybe one typo, fillers, a casing."""
    text = informal(base, rng)
    if rng.random() < TYPO_CHANCE:
        text = typo(text, rng)
    prefixes, suffixes = style
    return vary_case(_join(rng.choice(prefixes), text, rng.choice(suffixes)), rng).strip()


def short_answer(base: str, rng: random.Random, suffixes: Sequence[str] = SHORT_SUFFIXES) -> str:
    """A yes/no or a choice: casing and a polite filler only (a typo would change the answer)."""
    return vary_case(_join("", base, rng.choice(suffixes)), rng).strip()


def greeting(rng: random.Random) -> str:
    return sentence(rng.choice(GREETINGS), rng, GREETING)


def register(rng: random.Random) -> Tuple[str, bool]:
    """A request to register, and whether it already says the user is a health worker."""
    as_worker = rng.random() < 0.25
    return sentence(rng.choice(REGISTER_AS_WORKER if as_worker else REGISTER), rng), as_worker


def birth_date(born: "dt.date", rng: random.Random) -> str:
    """A birth date as people type it: 15-03-1985, 15/03/1985, 15 maret 1985, 15-3-85, ..."""
    month = MONTHS[born.month - 1]
    text = rng.choice(BIRTH_DATE).format(d=born.day, m=born.month, y=born.year, yy=born.year % 100, month=month,
                                         mon=month[:3])
    return vary_case(text, rng)


def yes(rng: random.Random) -> str:
    return short_answer(rng.choice(YES), rng)


def no(rng: random.Random) -> str:
    return short_answer(rng.choice(NO), rng)


def slot(rng: random.Random, options: int = 2) -> Tuple[str, int]:
    """A slot choice by number or ordinal among the first `options`, and the number it means."""
    number = rng.randint(1, min(options, 2))
    template = rng.choice(SLOT)
    text = template.format(n=number, ordinal=rng.choice(ORDINALS[number]))
    return short_answer(text, rng, ("",) if text.endswith("aja") else CHOICE_SUFFIXES), number


def nik_suffix(digits: str, rng: random.Random) -> str:
    """The last six NIK digits as typed: together, in groups, with a dash."""
    return rng.choice((digits, digits, f"{digits[:3]} {digits[3:]}", f"{digits[:2]} {digits[2:4]} {digits[4:]}",
                       f"{digits[:3]}-{digits[3:]}"))


def phone(local: str, rng: random.Random) -> str:
    """An 08... number as people type it: as is, +62, 62, in groups of four, with dashes."""
    rest = local[1:]
    return rng.choice((local, local, f"+62{rest}", f"62{rest}", f"{local[:4]} {local[4:8]} {local[8:]}",
                       f"{local[:4]}-{local[4:8]}-{local[8:]}", f"+62 {rest[:3]} {rest[3:7]} {rest[7:]}"))


def name(full_name: str, rng: random.Random) -> str:
    return full_name if rng.random() < 0.7 else full_name.lower()


def complaint(rng: random.Random) -> str:
    return sentence(rng.choice(NAME_COMPLAINT), rng)


def download(rng: random.Random) -> str:
    return sentence(rng.choice(DOWNLOAD), rng)


def dose(rng: random.Random) -> str:
    return short_answer(rng.choice(DOSE), rng, CHOICE_SUFFIXES)


def faq(rng: random.Random, exclude: Sequence[str] = ()) -> Tuple[str, str, str]:
    """An FAQ question: (topic, text, fragment its answer must contain)."""
    topic = rng.choice([t for t in FAQ if t not in exclude])
    bases, fragment = FAQ[topic]
    return topic, sentence(rng.choice(bases), rng, QUESTION), fragment


def chitchat(rng: random.Random, kind: str) -> Tuple[str, str]:
    bases, fragment = CHITCHAT[kind]
    return sentence(rng.choice(bases), rng, QUESTION if kind == "bot_challenge" else SOCIAL), fragment


def goodbye(rng: random.Random) -> str:
    return sentence(rng.choice(GOODBYE), rng, SOCIAL)


def pool_sample(count: int, seed: int = 1) -> List[str]:
    """`count` free-text messages across all steps (for the tests and the report's pool size)."""
    rng = random.Random(seed)
    makers = [greeting, lambda r: register(r)[0], yes, no, complaint, download, dose, goodbye,
              lambda r: faq(r)[1], lambda r: chitchat(r, "thank")[0], lambda r: chitchat(r, "bot_challenge")[0],
              lambda r: slot(r)[0]]
    return [makers[index % len(makers)](rng) for index in range(count)]

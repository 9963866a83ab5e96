from pathlib import Path

import pytest

from rasa_extensions.nlu.lexicon import load_lexicon, normalize

ROOT = Path(__file__).resolve().parents[2]
LEXICON = {"sy": "saya", "blm": "belum", "dpt": "dapat", "gmn": "bagaimana", "nakes": "tenaga kesehatan"}


def test_informal_words_are_rewritten_case_insensitively():
    text, _ = normalize("Min, SY nakes tp blm dpt sms, gmn?", LEXICON)
    assert text == "Min, saya tenaga kesehatan tp belum dapat sms, bagaimana?"


def test_offsets_follow_the_rewrite_so_entities_can_move():
    original = "sy cek NKS-AB23CD45 gmn"
    text, offsets = normalize(original, LEXICON)
    start, end = original.index("NKS"), original.index("NKS") + len("NKS-AB23CD45")
    assert text[offsets[start]:offsets[end]] == "NKS-AB23CD45"
    assert offsets[len(original)] == len(text)


def test_words_inside_other_words_and_codes_are_left_alone():
    assert normalize("syarat nakesnya", LEXICON)[0] == "syarat nakesnya"
    lexicon = dict(LEXICON, kl="kalau", hp="handphone")
    assert normalize("cek NKS-HJ7KL8MN, hp sy", lexicon)[0] == "cek NKS-HJ7KL8MN, handphone saya"


def test_the_project_lexicon_loads_and_keeps_yes_no_answers_distinguishable(tmp_path):
    lexicon = load_lexicon(ROOT / "data" / "lexicon" / "normalization.txt")
    assert lexicon["gak"] == "tidak" and lexicon["gmn"] == "bagaimana"
    assert "no" not in lexicon and "ya" not in lexicon      # "no"/"ya" are answers, not abbreviations
    bad = tmp_path / "bad.txt"
    bad.write_text("sy saya\n")
    with pytest.raises(ValueError):
        load_lexicon(bad)


def test_stretched_letters_are_typed_once_before_the_lookup():
    lexicon = dict(LEXICON, makasih="terima kasih")
    assert normalize("makasiiih kak, halooo", lexicon)[0] == "terima kasih kak, halo"
    assert normalize("vaksinnnn dong", lexicon)[0] == "vaksin dong"
    assert normalize("sertifikat", lexicon)[0] == "sertifikat"   # two letters in a row are left alone: "saat"


def test_a_reference_of_letters_only_is_never_rewritten():
    assert normalize("cek NKS-PPPQRSTU", LEXICON)[0] == "cek NKS-PPPQRSTU"
    assert normalize("nks pppqrstu sy", LEXICON)[0] == "nks pppqrstu saya"


def test_the_lexicons_content_is_part_of_the_training_fingerprint(tmp_path):
    from rasa_extensions.nlu.normalizer import InformalIndonesianNormalizer

    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("sy = saya\n")
    before = InformalIndonesianNormalizer.fingerprint_addon({"lexicon": str(lexicon)})
    lexicon.write_text("sy = saya\nblm = belum\n")
    assert InformalIndonesianNormalizer.fingerprint_addon({"lexicon": str(lexicon)}) != before

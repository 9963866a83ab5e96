import logging

import pytest

from backends.shared import signing
from backends.shared.privacy import RedactingFilter, mask_name, mask_nik, mask_phone, redact_text


def test_masks_keep_only_what_a_user_may_see():
    assert mask_nik("3174055306900012") == "************0012"
    assert mask_phone("+6281234567890") == "+62812*****890"
    assert mask_name("Siti Rahmawati") == "S*** R********"


def test_log_redaction_hides_niks_phones_and_codes():
    text = redact_text("nik 3174055306900012 phone +62 812-3456-7890 code 123456 dose 2")
    assert "3174055306900012" not in text and "7890" not in text and "123456" not in text
    assert "dose 2" in text


def test_redacting_filter_rewrites_the_record():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "sent %s to %s", ("482913", "081234567890"), None)
    RedactingFilter().filter(record)
    assert "482913" not in record.getMessage() and "081234567890" not in record.getMessage()


def test_signed_tokens_verify_and_reject_tampering_and_expiry():
    token = signing.sign(b"key", {"appointment": 7}, expires_in=60, now=1000)
    assert signing.verify(b"key", token, now=1030)["appointment"] == 7
    with pytest.raises(signing.InvalidSignature):
        signing.verify(b"other-key", token, now=1030)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(b"key", token, now=1061)
    body, signature = token.split(".")
    forged = signing.sign(b"attacker", {"appointment": 8}).split(".")[0]
    with pytest.raises(signing.InvalidSignature):
        signing.verify(b"key", f"{forged}.{signature}", now=1030)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(b"key", "garbage", now=1030)


def test_json_logs_are_redacted_without_changing_the_record_for_other_handlers():
    from backends.shared.web import JsonFormatter

    record = logging.LogRecord("t", logging.INFO, __file__, 1, "code %s for %s", ("482913", "081234567890"), None)
    line = JsonFormatter().format(record)
    assert "482913" not in line and "081234567890" not in line
    assert record.getMessage() == "code 482913 for 081234567890"

import logging

import pytest

from backends.shared import signing
from privacy.logs import RedactingFilter, install_log_redaction, redact_log_text
from privacy.masking import mask_name, mask_nik, mask_phone


def test_masks_keep_only_what_a_user_may_see():
    assert mask_nik("3174055306900012") == "************0012"
    assert mask_phone("+6281234567890") == "+62812*****890"
    assert mask_name("Siti Rahmawati") == "S*** R********"


def test_log_redaction_hides_niks_phones_and_codes():
    text = redact_log_text("nik 3174055306900012 phone +62 812 - 3456 - 7890 code 123 456 dose 2")
    assert "3174055306900012" not in text and "3456" not in text and "123 456" not in text
    assert "dose 2" in text


def test_log_redaction_keeps_operational_numbers_and_caps_dumps():
    text = redact_log_text("up on 127.0.0.1:5055 on 2026-12-03 15:00:01, WhatsApp error code 131047")
    assert text == "up on 127.0.0.1:5055 on 2026-12-03 15:00:01, WhatsApp error code 131047"
    assert len(redact_log_text("x" * 100_000)) < 2100


def test_every_record_of_the_process_is_redacted_once_installed(caplog):
    install_log_redaction()
    install_log_redaction()  # idempotent
    logger = logging.getLogger("any.library")
    with caplog.at_level(logging.INFO):
        logger.info("user typed %s", "0812 - 3456 - 7890")
        try:
            int("3171055306900012x")
        except ValueError:
            logger.exception("failed")
    assert "3456" not in caplog.text and "3171055306900012" not in caplog.text
    assert "user typed" in caplog.text and "ValueError" in caplog.text


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


def test_the_requester_names_the_action_server_sends_are_the_ones_the_backends_widen():
    from privacy.requesters import client_requester, conversation_requester, is_client_requester

    assert is_client_requester(client_requester("ab12")) and not is_client_requester(conversation_requester("rest", "x"))
    assert not is_client_requester(conversation_requester("rest", "client:evil"))   # a sender id cannot pose as one
    assert not is_client_requester(None)

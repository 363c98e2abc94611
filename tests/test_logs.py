from __future__ import annotations

import io
import json
import logging

from kkt_bridge.logs import configure_logging, redact, register_secret


def test_bearer_and_token_pairs_are_masked() -> None:
    text = redact('Authorization: Bearer abc.DEF-123 token="s3cr3t" url?token=xyz&x=1')
    assert "abc.DEF-123" not in text
    assert "s3cr3t" not in text
    assert "xyz" not in text
    assert "x=1" in text


def test_registered_secret_is_masked_in_message_and_traceback() -> None:
    register_secret("tok-9f8e7d6c5b")
    stream = io.StringIO()
    logger = configure_logging("text", "DEBUG", stream=stream)
    try:
        raise RuntimeError("server rejected tok-9f8e7d6c5b")
    except RuntimeError:
        logger.exception("export failed for %s", "tok-9f8e7d6c5b")
    out = stream.getvalue()
    assert "tok-9f8e7d6c5b" not in out
    assert out.count("***") >= 2
    assert "RuntimeError" in out


def test_json_lines_carry_extra_fields() -> None:
    stream = io.StringIO()
    logger = configure_logging("json", "INFO", stream=stream)
    logger.info("экспорт завершён", extra={"register": "0001:9281"})
    logger.debug("not shown")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["message"] == "экспорт завершён"
    assert record["register"] == "0001:9281"
    assert record["level"] == "info"


def test_configure_is_idempotent() -> None:
    configure_logging("text")
    configure_logging("json")
    ours = [h for h in logging.getLogger("kkt_bridge").handlers if getattr(h, "_kkt_bridge", 0)]
    assert len(ours) == 1

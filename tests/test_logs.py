from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from kkt_bridge.logs import (
    FORMAT_ENV,
    LEVEL_ENV,
    configure_from_env,
    configure_logging,
    logging_configured,
    redact,
    register_secret,
    unconfigure_logging,
)


@pytest.fixture(autouse=True)
def _clean_logger() -> Iterator[None]:
    # a handler left on the kkt_bridge logger would swallow other tests' caplog records
    yield
    unconfigure_logging()


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


def ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger("kkt_bridge").handlers if getattr(h, "_kkt_bridge", 0)]


def test_every_command_logs_in_the_format_of_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORMAT_ENV, "json")
    monkeypatch.setenv(LEVEL_ENV, "debug")
    logger = configure_from_env()
    assert logger.level == logging.DEBUG
    assert isinstance(ours()[0].formatter, logging.Formatter)
    assert type(ours()[0].formatter).__name__ == "JsonFormatter"
    monkeypatch.setenv(FORMAT_ENV, "yaml")
    monkeypatch.setenv(LEVEL_ENV, "loud")
    logger = configure_from_env()  # nonsense falls back instead of stopping the command
    assert logger.level == logging.WARNING
    assert type(ours()[0].formatter).__name__ == "Formatter"


def test_logging_configured_is_undone_afterwards() -> None:
    stream = io.StringIO()
    with logging_configured("text", "INFO", stream=stream) as logger:
        logging.getLogger("kkt_bridge.bridge.daemon").info("bridge started")
        assert logger.propagate is False
    assert "INFO    kkt_bridge.bridge.daemon: bridge started" in stream.getvalue()
    assert ours() == [] and logging.getLogger("kkt_bridge").propagate

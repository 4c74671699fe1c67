"""Logging for every oneclick process: the stdlib ``logging`` calls of the code base, rendered by
structlog as JSON lines (production, log files) or for humans (a terminal).

The fields a call passes in ``extra={...}`` become keys of the line, and so do the fields bound
for a whole request or swap step with :func:`log_context` (``correlation_id`` in the API,
``swap_id``/``deposit_address``/``phase`` in the engine). Whatever looks like a secret (a key
named like one, a password in a URL, a JWT, an ed25519 secret key) is redacted before rendering.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import structlog
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars
from structlog.typing import EventDict, Processor, WrappedLogger

LogFormat = Literal["auto", "json", "text"]
LOG_FORMATS: tuple[str, ...] = ("auto", "json", "text")
# Every outgoing request is logged at INFO by httpx/httpcore: the worker polls the relay and the
# bridge all the time, so that is noise next to our own INFO lines (failures still show).
CHATTY_LOGGERS = ("httpx", "httpcore")

REDACTED = "[redacted]"
# A field named like a secret (``jwt_secret``, ``api_key``, ``token``, ``db_password``, ...).
_SECRET_KEY = re.compile(
    r"(^|_)(secret|password|passwd|token|api_key|apikey|authorization|private_key|secret_key"
    r"|master_secret|manager_key|jwt|mnemonic|seed)$",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE)
_SECRET_TEXT = (
    (_URL_PASSWORD, r"\1" + REDACTED + "@"),
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+"), REDACTED),  # a JWT
    (re.compile(r"\bed25519:[1-9A-HJ-NP-Za-km-z]{80,}"), "ed25519:" + REDACTED),  # a secret key
)


def redact_text(text: str) -> str:
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _redact(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    for key, value in list(event.items()):
        if key in ("logger", "level", "timestamp"):
            continue
        if _SECRET_KEY.search(key) and value is not None:
            event[key] = REDACTED
        elif isinstance(value, str):
            event[key] = redact_text(value)
    return event


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Every line logged in this block (and in tasks it starts) carries ``fields``; the fields
    bound before it are restored after it, whatever was bound inside."""
    saved = get_contextvars()
    bind_contextvars(**fields)
    try:
        yield
    finally:
        clear_contextvars()
        bind_contextvars(**saved)


def bind_log_context(**fields: Any) -> None:
    """Add ``fields`` to the current :func:`log_context` block."""
    bind_contextvars(**fields)


def wants_json(log_format: str, stream: TextIO) -> bool:
    """``auto``: JSON unless ``stream`` is a terminal."""
    if log_format == "auto":
        return not stream.isatty()
    return log_format == "json"


def _pre_chain() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]


def json_formatter() -> logging.Formatter:
    """One JSON object per line: ``timestamp``, ``level``, ``logger``, ``message``, the fields."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_pre_chain(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact,  # the traceback too
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
    )


def text_formatter(colors: bool) -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_pre_chain(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # A plain traceback, redacted like the rest: never a rich one with its locals.
            structlog.processors.format_exc_info,
            _redact,
            structlog.dev.ConsoleRenderer(colors=colors),
        ],
    )


def setup_logging(
    log_format: str = "auto", *, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Route every log line of this process to ``stream`` (stdout) in ``log_format``."""
    out = stream or sys.stdout
    handler = logging.StreamHandler(out)
    as_json = wants_json(log_format, out)
    handler.setFormatter(json_formatter() if as_json else text_formatter(colors=out.isatty()))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def render_child_line(process: str, line: str, log_format: str) -> str:
    """A log line of a child process (``oneclick up``) for our stdout: a JSON line gets the
    child's name as ``process`` (``json``) or is rendered for humans (``text``); anything else
    keeps a ``[process]`` prefix."""
    try:
        document: Any = json.loads(line)
    except ValueError:
        document = None
    if not isinstance(document, dict) or "message" not in document:
        return f"[{process}] {line}"
    if log_format == "json":
        return json.dumps({"process": process, **document}, separators=(",", ":"))
    fields: MutableMapping[str, Any] = dict(document)
    timestamp = str(fields.pop("timestamp", ""))[11:19]
    level = str(fields.pop("level", "")).upper()
    message = fields.pop("message")
    fields.pop("logger", None)
    exception = fields.pop("exception", None)
    extra = " ".join(f"{key}={value}" for key, value in fields.items())
    text = f"[{process}] {timestamp} {level:<7} {message}" + (f"  {extra}" if extra else "")
    return text + (f"\n{exception}" if exception else "")

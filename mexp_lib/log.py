"""Logging set-up shared by the workflow scripts and the CLI, and a progress reporter."""

from __future__ import annotations

import logging
import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
logger = logging.getLogger("mexp_lib")


def setup_logging(logfile: str | None = None, level: int = logging.INFO) -> None:
    """Send mexp's log records to ``logfile`` (a Snakemake ``log:`` path) or to stderr."""
    handler: logging.Handler = logging.FileHandler(logfile, mode="w") if logfile else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("mexp_lib")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    if logfile:
        previous = sys.excepthook

        def log_uncaught(etype, value, tb):  # type: ignore[no-untyped-def]
            root.error("%s: %s", etype.__name__, value, exc_info=(etype, value, tb))
            previous(etype, value, tb)

        sys.excepthook = log_uncaught  # a failing job's log says why it failed


def progress(items: Iterable[T], total: int, what: str, every_s: float = 5.0) -> Iterator[T]:
    """Yield ``items`` and log ``what: i/total (x/s)`` at most every ``every_s`` seconds and at the end."""
    start = last = time.monotonic()
    i = 0
    for i, item in enumerate(items, 1):
        yield item
        now = time.monotonic()
        if now - last >= every_s or i == total:
            rate = i / max(now - start, 1e-9)
            logger.info("%s: %d/%d (%.1f/s)", what, i, total, rate)
            last = now
    if i != total:
        logger.info("%s: %d/%d done", what, i, total)

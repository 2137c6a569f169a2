"""Logging set-up shared by the workflow scripts and the CLI, and a progress reporter."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

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


_bar_stream: TextIO | None = None


def show_progress_bars(stream: TextIO | None) -> None:
    """Draw :func:`progress` as a bar on ``stream`` (the CLI passes stderr when it is a
    terminal); ``None``: log lines (the workflow's job logs, a redirected CLI)."""
    global _bar_stream
    _bar_stream = stream


def progress(items: Iterable[T], total: int, what: str, every_s: float = 5.0) -> Iterator[T]:
    """Yield ``items`` and report ``what: i/total (x/s)``: a bar redrawn in place (at most 10
    times a second) when :func:`show_progress_bars` set a terminal, else a log line at most every
    ``every_s`` seconds and at the end."""
    bar = _bar_stream
    start = last = time.monotonic()
    i = 0
    for i, item in enumerate(items, 1):
        yield item
        now = time.monotonic()
        if bar is not None:
            if now - last >= 0.1 or i == total:
                _draw(bar, what, i, total, i / max(now - start, 1e-9))
                last = now
        elif now - last >= every_s or i == total:
            rate = i / max(now - start, 1e-9)
            logger.info("%s: %d/%d (%.1f/s)", what, i, total, rate)
            last = now
    if bar is not None:
        bar.write("\n")
        bar.flush()
    elif i != total:
        logger.info("%s: %d/%d done", what, i, total)


def _draw(stream: TextIO, what: str, i: int, total: int, rate: float) -> None:
    width = 30
    filled = int(width * i / total) if total else width
    left = f", {(total - i) / rate:.0f} s left" if rate > 0 and i < total else ""
    stream.write(f"\r{what}: [{'#' * filled}{'.' * (width - filled)}] {i}/{total} ({rate:.1f}/s{left})\x1b[K")
    stream.flush()

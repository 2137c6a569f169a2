"""Chunks of the per-clip stages: which videos (and so which clips) one job handles.

A job of ``detect_landmarks``, ``align_faces``, ``normalise_clip``, ``magnify_motion`` or
``compute_flow`` handles one chunk, so interpreter start-up, imports and model loading are paid
once per chunk, not once per clip. The five stages share the chunks: chunk ``c`` of a motion
stage holds the clips cut from the videos of chunk ``c`` of the face stages, so every chunk is
one chain of jobs (what the SLURM profile groups).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from mexp_lib.errors import ConfigError


def plan_chunks(videos: Iterable[str], *, long: Collection[str] = (), clips_per_job: int) -> dict[str, list[str]]:
    """``{chunk id: videos}``: first each ``long`` video (one with spotting ground truth or
    several expressions: its own work dominates any start-up) in a chunk by itself, in name
    order; then the short videos in name order, cut into the fewest chunks of at most
    ``clips_per_job`` and of sizes that differ by one at most (21 clips at 20 a job: 11 and 10,
    not 20 and 1, which would pay a start-up for one clip).

    Deterministic: the same videos give the same chunks, whatever order they are listed in. The
    long videos come first so that their chunks (and their costly landmarks, faces and spotting
    features) do not move when ``clips_per_job`` changes. Chunk ids are zero-padded numbers
    (``"000"``, ``"001"``...), at least three digits."""
    if isinstance(clips_per_job, bool) or not isinstance(clips_per_job, int) or clips_per_job < 1:
        raise ConfigError(f"batching.clips_per_job must be an integer >= 1, not {clips_per_job!r}")
    names = sorted(set(videos))
    long_set = set(long)
    short = [v for v in names if v not in long_set]
    n = -(-len(short) // clips_per_job)
    cuts = [len(short) * i // n for i in range(n + 1)] if n else [0]
    groups = [[v] for v in names if v in long_set] + [short[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
    width = max(3, len(str(len(groups) - 1)))
    return {f"{i:0{width}d}": g for i, g in enumerate(groups)}


def chunk_of(chunks: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """``{video: chunk id}`` of a plan from :func:`plan_chunks`."""
    return {v: c for c, vs in chunks.items() for v in vs}

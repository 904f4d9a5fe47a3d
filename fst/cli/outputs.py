"""What the commands that write one output per input (fst-infer, fst-optimize) say about their outputs."""

from __future__ import annotations

from tqdm import tqdm

from fst.media import Job


def keep_existing(job: Job, overwrite: bool) -> bool:
    """True, and said, when the job's output exists and may not be replaced."""
    if job.target.exists() and not overwrite:
        tqdm.write(f"kept existing {job.target} (use --overwrite to replace it)")
        return True
    return False


def report(total: int, failed: int, kept: int, output: str) -> int:
    """The closing line; the exit code is 1 when any input failed."""
    done = total - failed - kept
    print(f"wrote {done} file{'s' * (done != 1)}" + (f", {failed} failed" if failed else "") + f" -> {output}")
    return 1 if failed else 0

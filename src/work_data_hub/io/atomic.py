"""Files that appear whole or not at all, and never on top of an input.

Every file the tool writes goes first to a hidden temporary file beside its target
(``.<name>.<pid>.<random>.wdh-partial``, same folder, so the final rename cannot cross
file systems) and is renamed into place by :meth:`AtomicFile.commit` once the whole run
succeeded. A failed or interrupted run (an exception, ``SIGINT``) removes its temporary
files and leaves the previous targets as they were. A killed process (``SIGKILL``) cannot
clean up: its temporary file stays hidden beside the target until the next run writing
that target sweeps it (only files whose process is gone are swept).

:func:`check_target` refuses a target that is an input (by device and inode, so hard links
and symlinks count) or a folder, before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from work_data_hub.errors import InputError

__all__ = [
    "PARTIAL_SUFFIX",
    "AtomicFile",
    "atomic_text",
    "check_target",
    "commit_all",
    "same_file",
    "sweep_partials",
]

PARTIAL_SUFFIX = ".wdh-partial"


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file on disk (device and inode; links followed)."""
    try:
        first, second = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def check_target(target: Path, inputs: Iterable[Path], role: str = "output") -> None:
    """InputError when ``target`` is one of ``inputs`` or a folder (nothing is written)."""
    for source in inputs:
        if same_file(target, source) or target.absolute() == source.absolute():
            raise InputError(
                f"the {role} file {target.name} is the input file {source.name} "
                "(same file on disk): choose another output name"
            )
    if target.is_dir():
        raise InputError(f"the {role} path {target} is a folder, not a file")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def sweep_partials(target: Path) -> int:
    """Remove temporary files of ``target`` left by killed processes; how many were removed."""
    pattern = re.compile(
        rf"^\.{re.escape(target.name)}\.(\d+)\.[0-9a-f]+{re.escape(PARTIAL_SUFFIX)}$"
    )
    removed = 0
    try:
        candidates = list(target.parent.iterdir())
    except OSError:
        return 0
    for candidate in candidates:
        match = pattern.match(candidate.name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            candidate.unlink()
            removed += 1
    return removed


class AtomicFile:
    """One target written through a temporary file beside it (see the module doc)."""

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        token = secrets.token_hex(4)
        self.temp = self.target.with_name(
            f".{self.target.name}.{os.getpid()}.{token}{PARTIAL_SUFFIX}"
        )
        self._handle: IO[Any] | None = None
        self._created = False
        self.committed = False

    def open(self, mode: str = "wb", **options: Any) -> IO[Any]:
        """Create the temporary file and return a handle on it (``mode`` ``"wb"`` or ``"w"``)."""
        if self._handle is not None:
            return self._handle
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            sweep_partials(self.target)
            handle = open(self.temp, mode.replace("w", "x"), **options)  # noqa: SIM115
        except OSError as exc:
            raise InputError(f"cannot write {self.target}: {type(exc).__name__}") from exc
        self._created = True
        self._handle = handle
        return handle

    def close(self) -> None:
        """Flush and close the temporary file, making its bytes durable before a rename."""
        handle, self._handle = self._handle, None
        if handle is None or handle.closed:
            return
        try:
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            handle.close()
            raise InputError(f"cannot write {self.target}: {type(exc).__name__}") from exc
        handle.close()

    def commit(self) -> None:
        """Rename the finished temporary file onto the target (once; later calls do nothing)."""
        if self.committed:
            return
        self.close()
        if not self._created:
            self.open().close()
        try:
            os.replace(self.temp, self.target)
        except OSError as exc:
            self.discard()
            raise InputError(f"cannot write {self.target}: {type(exc).__name__}") from exc
        self._created = False
        self.committed = True

    def discard(self) -> None:
        """Drop the temporary file; the target stays as it was."""
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()
        if self._created:
            with contextlib.suppress(OSError):
                self.temp.unlink()
            self._created = False


def commit_all(files: Sequence[AtomicFile], *, invalidate_first: Sequence[Path] = ()) -> None:
    """Commit ``files`` in order; ``invalidate_first`` (old reports) are removed before.

    Removing the previous report first means a crash between the renames can never leave
    an old report that vouches for a new output. A failed commit discards the rest.
    """
    try:
        for stale in invalidate_first:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        for file in files:
            file.commit()
    finally:
        for file in files:
            file.discard()


@contextlib.contextmanager
def atomic_text(
    target: Path, *, encoding: str = "utf-8", newline: str | None = None
) -> Iterator[IO[str]]:
    """A text handle on ``target``'s temporary file, committed when the block succeeds."""
    file = AtomicFile(target)
    try:
        handle = file.open("w", encoding=encoding, newline=newline)
        yield handle
        file.commit()
    finally:
        file.discard()

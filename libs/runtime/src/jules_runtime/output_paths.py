"""Where a command writes: it never deletes or replaces what it did not create.

A command that writes a folder (a backtest's run folder, a session folder) describes it with
an ``OutputFolder``: a marker file, written first, that makes the folder recognisably its
own, and the top-level names of every file and folder it creates. ``OutputFolder.prepare``
applies the rule before anything is written:

- a missing or empty folder is used (created);
- a folder of this kind (its marker present) is used: with ``replace`` the entries the
  command creates are deleted first (an earlier run is replaced); any other entry is left
  where it is;
- any other non-empty folder is refused with ``OutputRefusedError`` (nothing is touched),
  unless ``overwrite``: then the command's files replace those of the same name and every
  other entry is left in place. A non-empty folder by one of the command's names (``audit/``)
  that the command did not create is refused even then: it is never deleted.

A command that writes one file uses ``output_file``: an existing file is refused unless
``overwrite``; the content goes to a new temporary file beside the target, moved into place
once complete, so a failed write leaves the old file (or none) as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jules_contracts.errors import JulesError

__all__ = [
    "OVERWRITE_OPTION",
    "OutputFolder",
    "OutputRefusedError",
    "check_output_file",
    "output_file",
    "shown",
]

OVERWRITE_OPTION = "--overwrite"
"""The command-line option that allows writing over what a command did not create."""

_LISTED = 6
"""How many entries of a refused folder the message names."""


class OutputRefusedError(JulesError, FileExistsError):
    """A command refused to write where it would delete or replace what it did not create.

    Nothing was changed; the message names the path, what is there and the way out.

    Attributes:
        path: The refused folder or file.
    """

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(message)


def shown(path: Path) -> str:
    """``path`` for a message; ``.`` and ``..`` with the folder they stand for."""
    return f"{path} ({path.resolve()})" if path.name in ("", "..") else str(path)


def _names(names: list[str]) -> str:
    listed = ", ".join(names[:_LISTED])
    return listed if len(names) <= _LISTED else f"{listed} and {len(names) - _LISTED} more"


def _entry_names(folder: Path) -> list[str]:
    return sorted(entry.name + ("/" if entry.is_dir() else "") for entry in folder.iterdir())


def _remove(path: Path) -> None:
    """Delete a file, a symbolic link (never what it points to) or a folder."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


@dataclass(frozen=True)
class OutputFolder:
    """A kind of folder a command writes, and how its own folders are recognised.

    Attributes:
        kind: What the folder holds, for messages (``"backtest run"``).
        marker: The file the command writes first; its presence makes a folder its own.
        marker_keys: Keys the marker's JSON object must hold (a file of the same name written
            by anything else is not a marker).
        entries: The top-level names of every file and folder the command creates, the
            marker included.
    """

    kind: str
    marker: str
    marker_keys: frozenset[str]
    entries: frozenset[str]

    def recognises(self, folder: Path) -> bool:
        """Whether ``folder`` holds this kind's marker, i.e. an earlier run wrote it."""
        try:
            document = json.loads((folder / self.marker).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return False
        return isinstance(document, dict) and self.marker_keys <= document.keys()

    def prepare(
        self,
        folder: Path,
        *,
        overwrite: bool = False,
        replace: bool = True,
        option: str = OVERWRITE_OPTION,
    ) -> Path:
        """Make ``folder`` ready for the command under the module's rule, creating it if needed.

        Args:
            folder: Where the command writes.
            overwrite: Write into a non-empty folder that is not of this kind (the command's
                files replace those of the same name; nothing else is touched).
            replace: In a folder of this kind, delete the entries the command creates first
                (``False``: keep them, the command adds to them).
            option: The option named in the refusal message.

        Returns:
            ``folder``.

        Raises:
            OutputRefusedError: The folder is a file, or not empty and not of this kind
                (without ``overwrite``), or holds a non-empty folder by one of the command's
                names that it did not create. Nothing was changed.
        """
        refused = f"refusing to write the {self.kind} into {shown(folder)}"
        if folder.exists() and not folder.is_dir():
            raise OutputRefusedError(folder, f"{refused}: it is a file, not a folder")
        present = sorted(entry.name for entry in folder.iterdir()) if folder.exists() else []
        own = [name for name in present if name in self.entries]
        if present and self.recognises(folder):
            if replace:
                for name in own:
                    _remove(folder / name)
            return folder
        if present and not overwrite:
            clash = f" (here: {_names(own)})" if own else ""
            raise OutputRefusedError(
                folder,
                f"{refused}: the folder is not empty and holds no earlier {self.kind} (it holds "
                f"{_names(_entry_names(folder))}); nothing was changed. Choose a new or empty "
                f"folder, or pass {option} to write the {self.kind} there: its files replace "
                f"those of the same name{clash}, anything else is left in place.",
            )
        for name in own:
            path = folder / name
            if path.is_dir() and not path.is_symlink() and any(path.iterdir()):
                raise OutputRefusedError(
                    folder,
                    f"{refused}: its folder {name}/ was not made by a {self.kind}, is not empty "
                    "and is never deleted; nothing was changed. Move it away or choose another "
                    "folder.",
                )
        for name in own:
            _remove(folder / name)
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def check_output_file(
    path: Path, *, overwrite: bool = False, option: str = OVERWRITE_OPTION
) -> None:
    """Refuse ``path`` if it is a folder, or an existing file and ``overwrite`` is not given.

    Raises:
        OutputRefusedError: The message names the file and the option to pass.
    """
    if path.is_dir():
        raise OutputRefusedError(path, f"cannot write {shown(path)}: it is a folder, not a file")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise OutputRefusedError(
            path,
            f"refusing to replace {shown(path)}: the file exists; nothing was changed. "
            f"Choose another file, or pass {option} to replace it.",
        )


def _new_file_beside(path: Path) -> Path:
    """Create an empty file next to ``path`` under a new name (permissions as ``open`` gives)."""
    while True:
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return candidate


@contextlib.contextmanager
def output_file(
    path: Path, *, overwrite: bool = False, option: str = OVERWRITE_OPTION
) -> Iterator[Path]:
    """Check ``path`` may be written, then yield a new temporary file to write instead.

    The temporary file is created beside ``path`` under a name no other file has; when the
    block ends without an exception it is moved onto ``path`` in one step, otherwise deleted.
    Missing parent folders are created.

    Args:
        path: The file to write.
        overwrite: Replace an existing file.
        option: The option named in the refusal message.

    Raises:
        OutputRefusedError: ``path`` is a folder, or exists and ``overwrite`` is not given
            (checked on entry and again before the move). Nothing was changed.
    """
    check_output_file(path, overwrite=overwrite, option=option)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _new_file_beside(path)
    try:
        yield temporary
        check_output_file(path, overwrite=overwrite, option=option)  # created meanwhile?
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)

"""How the virtual register survives a restart: two files, written so a crash never mixes.

``PATH`` holds the device state as JSON (tables, counters, shift, clock offset) and is
replaced atomically (a temporary file, then ``os.replace``). ``PATH.archive`` holds the ФН's
documents, one JSON line each, and only grows: a new document is appended and synced
*before* the state that counts it is replaced. The state names how many documents are
valid, so a document appended by a save that then failed is dropped on the next load, as a
ФН drops a document it did not finish. Saving stays proportional to one document, not to
the whole archive.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from kkt_bridge.errors import DocumentError, StoreError, os_error_text
from kkt_bridge.i18n import _

from .state import RegisterState


def _atomic_write(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _line(document: Any) -> bytes:
    return json.dumps(document.to_json(), ensure_ascii=False).encode("utf-8") + b"\n"


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.archive_path = path.with_name(path.name + ".archive")
        #: how many documents the archive file holds for the state on disk
        self._saved = 0
        #: the archive file has lines beyond ``_saved`` that must go before appending
        self._stale = False

    def load(self) -> RegisterState | None:
        """The saved state, or None when there is none yet (a new device)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(
                _("не удалось прочитать состояние эмулятора {path}: {reason}").format(
                    path=self.path, reason=os_error_text(exc)),
                _("проверьте права на файл или укажите другой --state")) from exc
        try:
            lines = self.archive_path.read_bytes().split(b"\n")
        except FileNotFoundError:
            lines = []
        except OSError as exc:
            raise StoreError(
                _("не удалось прочитать архив эмулятора {path}: {reason}").format(
                    path=self.archive_path, reason=os_error_text(exc)),
                _("проверьте права на файл")) from exc
        try:
            data = json.loads(raw.decode("utf-8"))
            count = int(data["documents"])
            documents = [json.loads(line) for line in lines[:count]]
            state = RegisterState.from_json(data, documents)
        except (ValueError, KeyError, TypeError, AssertionError, DocumentError) as exc:
            reason: object = exc
            if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
                # json's and the codec's own words are English, and nobody mends the file
                # by hand (the hint says what to do)
                reason = _("не JSON")
            raise StoreError(
                _("состояние эмулятора {path} повреждено ({reason})").format(
                    path=self.path, reason=reason),
                _("удалите файл и его .archive, чтобы начать с нового устройства, "
                  "или восстановите их из копии")) from exc
        self._saved = count
        if len(lines) != count + 1 or lines[count] != b"":
            # a document whose state was never saved, or a torn last line: drop it now, or
            # at the next save if the disk still refuses
            self._stale = True
            with contextlib.suppress(OSError):
                self._rewrite_archive(state)
        return state

    def _rewrite_archive(self, state: RegisterState) -> None:
        _atomic_write(self.archive_path,
                      b"".join(_line(document) for document in state.archive.documents))
        self._stale = False

    def save(self, state: RegisterState) -> None:
        documents = state.archive.documents
        if self._stale or self._saved == 0 or self._saved > len(documents):
            # a new device (an old archive file is not ours), or lines to drop
            self._rewrite_archive(state)
        elif len(documents) > self._saved:
            with self.archive_path.open("ab") as handle:
                handle.write(b"".join(_line(d) for d in documents[self._saved:]))
                handle.flush()
                os.fsync(handle.fileno())
        self._saved = len(documents)
        _atomic_write(self.path,
                      json.dumps(state.to_json(), ensure_ascii=False, indent=1).encode("utf-8"))

"""The one exception hierarchy of kkt-bridge.

Every error a user can see says what happened (``message``) and what to do (``hint``).
Both are already translated when the error is raised (see :mod:`kkt_bridge.i18n`), so the
CLI prints them (:meth:`KktBridgeError.for_people`) and nothing else: no traceback
reaches a user.
Never put a secret (token, password) into a message: messages are logged.
"""

from __future__ import annotations


class KktBridgeError(Exception):
    """Base of every error kkt-bridge raises on purpose."""

    #: process exit code the CLI uses for this family of errors
    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self._with_hint(self.hint)

    def for_people(self) -> str:
        """The message and hint as the CLI prints them: the hint is a new sentence after
        the full stop, so it starts with a capital letter (the strings themselves start in
        lower case: they are also put after a colon or inside another sentence)."""
        return self._with_hint(sentence_start(self.hint) if self.hint else None)

    def _with_hint(self, hint: str | None) -> str:
        return f"{self.message}. {hint}" if hint else self.message


#: first words a hint may start with that are typed as they stand, never capitalised
_TYPED_AS_IS = frozenset({"kkt-bridge", "sudo"})


def sentence_start(text: str) -> str:
    """``text`` with its first letter capitalised, unless it starts with something the
    user types as it stands: a command (``kkt-bridge …``, ``sudo …``), an option
    (``--device``), a name with ``_``, ``/``, ``.`` or digits in it (``work_mode``)."""
    word = text.split(maxsplit=1)[0].rstrip(",:;") if text.strip() else ""
    if (not word or not word[0].islower() or word in _TYPED_AS_IS
            or any(not (c.isalpha() or c in "-«»'’") for c in word)):
        return text
    return text[0].upper() + text[1:] if text[0] == word[0] else text


# --- link: the port, the cable, the socket -------------------------------------------------


class LinkError(KktBridgeError):
    """The bytes could not get through: port missing, busy, no permission, silence."""

    exit_code = 3


class PortNotFoundError(LinkError):
    pass


class PortBusyError(LinkError):
    def __init__(self, message: str, hint: str | None = None, *, pid: int | None = None,
                 process: str | None = None) -> None:
        super().__init__(message, hint)
        self.pid = pid
        self.process = process


class PortPermissionError(LinkError):
    pass


class LinkTimeoutError(LinkError):
    pass


class LinkClosedError(LinkError):
    pass


class ConnectionRefusedLinkError(LinkError):
    """Nothing listens at the network address (or it turned the connection away)."""


class NotARegisterError(LinkError):
    """Something answers on the port, but not a fiscal register of the expected protocol."""


# --- protocol: bytes arrived but make no sense -----------------------------------------------


class ProtocolError(KktBridgeError):
    """A frame or an answer does not follow the protocol (bad checksum, wrong length)."""

    exit_code = 4


class FrameError(ProtocolError):
    pass


# --- the register answered with an error code ------------------------------------------------


class DeviceError(KktBridgeError):
    """The register refused a command; ``code`` is the vendor's error code."""

    exit_code = 5

    def __init__(self, message: str, hint: str | None = None, *, code: int = 0,
                 command: int | None = None) -> None:
        super().__init__(message, hint)
        self.code = code
        self.command = command


# --- fiscal documents --------------------------------------------------------------------


class DocumentError(KktBridgeError):
    """A fiscal document (FFD TLV) is truncated or corrupt."""


# --- back office ------------------------------------------------------------------------------


class BackOfficeError(KktBridgeError):
    """The back office could not be reached or refused a request."""

    exit_code = 6

    #: True when the same request may succeed later (5xx, 429, timeouts)
    retryable: bool = False

    def __init__(self, message: str, hint: str | None = None, *,
                 retry_after: float | None = None, retryable: bool | None = None) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable


class BackOfficeUnavailableError(BackOfficeError):
    retryable = True


class RateLimitedError(BackOfficeError):
    retryable = True


class AuthenticationError(BackOfficeError):
    """The stored credentials are no longer accepted: pair again."""


class PairingError(BackOfficeError):
    """A sync code is wrong, expired or already used."""


class AcknowledgementError(BackOfficeError):
    """The back office answered an export with acknowledgements the bridge cannot trust
    (not a boolean, another document's key, too few, out of order): nothing moves the
    export cursor, and the batch is sent again later."""

    retryable = True


class PluginError(KktBridgeError):
    """A plugin is missing, broken, or does not keep the contract."""


# --- local state -----------------------------------------------------------------------------


class StoreError(KktBridgeError):
    pass


class ConfigError(KktBridgeError):
    exit_code = 2


class ConfirmationRequiredError(KktBridgeError):
    """A change would delete data; it needs an explicit confirmation that saw the list."""

    exit_code = 7


class ConfirmationStaleError(ConfirmationRequiredError):
    """The confirmation was given for a list that has changed since: show the new one."""


class ConfirmationMismatchError(ConfirmationRequiredError):
    """The confirmation code is not one the preview gave (mistyped)."""


class CatalogLockedError(KktBridgeError):
    """Goods cannot be edited at the register while goods sync with the back office is on."""


class NotPairedError(KktBridgeError):
    pass



def os_error_text(exc: BaseException) -> str:
    """An operating-system error in the UI language: the system's own text (``strerror``)
    is English whatever the UI says, so the common ones a user meets are named here."""
    import errno

    from kkt_bridge.i18n import _

    code = getattr(exc, "errno", None)
    known = {
        errno.EADDRINUSE: _("адрес уже занят другой программой"),
        errno.EADDRNOTAVAIL: _("такого адреса нет у этого компьютера"),
        errno.EACCES: _("нет прав"),
        errno.EPERM: _("нет прав"),
        errno.ENOENT: _("нет такого файла или каталога"),
        errno.EISDIR: _("это каталог, а не файл"),
        errno.ENOTDIR: _("часть пути — не каталог"),
        errno.ENOSPC: _("нет места на диске"),
        errno.EROFS: _("файловая система только для чтения"),
    }
    if code in known:
        return known[code]
    return str(getattr(exc, "strerror", None) or exc)

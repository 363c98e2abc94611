"""Advisory locks on open files, the same on Linux and Windows (as pyserial runs on both).

A thin layer over portalocker: ``flock`` on POSIX, so a lock taken here and pyserial's
exclusive lock on a serial port are the same lock; ``LockFileEx`` on Windows (shared locks
need pywin32 there, which the package's dependencies pull in on Windows). The operating
system drops a process's locks when it dies, so a killed daemon never leaves one behind.

portalocker is imported on the first lock, not with this module: the commands that never
lock anything do not pay for it.
"""

from __future__ import annotations


def lock(fd: int, *, shared: bool = False, blocking: bool = True) -> bool:
    """Lock the open file ``fd`` (exclusive unless ``shared``). With ``blocking`` false,
    return False at once when another holder stands in the way; True once it is held.
    Any other failure is an :class:`OSError`."""
    import portalocker

    flags = portalocker.LockFlags.SHARED if shared else portalocker.LockFlags.EXCLUSIVE
    if not blocking:
        flags |= portalocker.LockFlags.NON_BLOCKING
    try:
        portalocker.lock(fd, flags)
    except portalocker.AlreadyLocked:
        return False
    except portalocker.LockException as exc:
        raise OSError(f"cannot lock: {exc}") from exc
    return True


def unlock(fd: int) -> None:
    """Release the lock on ``fd`` (closing the file releases it too)."""
    import portalocker

    try:
        portalocker.unlock(fd)
    except portalocker.LockException as exc:
        raise OSError(f"cannot unlock: {exc}") from exc

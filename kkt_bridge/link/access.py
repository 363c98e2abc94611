"""Who may open a device node: its group, and whether the current user is in that group.

A user added to ``kkt`` with usermod only gets the group at the next login, so "in the
group database" and "in this process's groups" are reported separately.

Groups and modes are POSIX's: on Windows :func:`node_access` raises ``OSError`` (ENOSYS), and
its callers say that there a port is only ever busy, never forbidden.
"""

from __future__ import annotations

import errno
import getpass
import os
from dataclasses import dataclass

POSIX = os.name == "posix"


@dataclass(frozen=True)
class NodeAccess:
    path: str
    group: str  # the node's group name ("dialout", "kkt"), or its gid as text
    mode: int  # permission bits, e.g. 0o660
    user: str
    in_group_now: bool  # this process already has the group
    in_group_db: bool  # /etc/group lists the user (effective after the next login)

    @property
    def other_can_write(self) -> bool:
        return bool(self.mode & 0o002)


def current_user() -> str:
    if not POSIX:
        return getpass.getuser()
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def node_access(path: str) -> NodeAccess:
    """Describe the access to ``path``; OSError when the node does not exist, or when this
    is not POSIX."""
    if not POSIX:
        raise OSError(errno.ENOSYS, "device groups exist on POSIX only", path)
    import grp
    import pwd

    st = os.stat(path)
    try:
        group_entry: grp.struct_group | None = grp.getgrgid(st.st_gid)
    except KeyError:
        group_entry = None
    user = current_user()
    group_name = group_entry.gr_name if group_entry else str(st.st_gid)
    in_db = False
    if group_entry is not None:
        try:
            primary = pwd.getpwnam(user).pw_gid
        except KeyError:
            primary = None
        in_db = user in group_entry.gr_mem or primary == st.st_gid
    in_now = st.st_gid in os.getgroups() or st.st_gid == os.getegid()
    return NodeAccess(path=path, group=group_name, mode=st.st_mode & 0o7777, user=user,
                      in_group_now=in_now, in_group_db=in_db or in_now)

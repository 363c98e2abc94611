"""Shared pieces of the page's browser tests: the daemon as a child process."""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time

LOGIN_LINE = re.compile(r"(http://127\.0\.0\.1:\d+)/login\?token=[\w-]+")
START_TIMEOUT = 60.0


class Daemon:
    """``kkt-bridge run`` in a child process; its output is read by a thread."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, env=env, text=True,
                                        start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def login_url(self, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            match = LOGIN_LINE.search(line)
            if match:
                return match.group(0)
        raise AssertionError("kkt-bridge run printed no login address:\n" + "".join(self.output))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def base_url(self, login_url: str) -> str:
        match = LOGIN_LINE.match(login_url)
        assert match is not None, login_url
        return match.group(1)

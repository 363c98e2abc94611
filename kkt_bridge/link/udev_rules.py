"""A small reader and evaluator of udev rules, enough to check ``udev/70-kkt-bridge.rules``.

``udevadm test`` needs a real udev and a real device; CI has neither. This module parses
the rules file and plays it against a described device (its subsystem, USB ids, serial),
so tests can say "a Shtrih with serial 0042 gets /dev/kkt/shtrih-0042, group kkt, mode
0660 and starts kkt-bridge@shtrih-0042.service" without hardware. It covers the subset
of the udev rule language our file uses: matches on ACTION, SUBSYSTEM, KERNEL, ATTR,
ATTRS, ENV, TAG; assignments to MODE, GROUP, OWNER, SYMLINK, TAG, ENV, IMPORT{builtin},
RUN; GOTO and LABEL; ``$env{}``/``%E{}``, ``$kernel``/``%k`` and ``$attr{}`` substitution.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from kkt_bridge.errors import ConfigError

MATCH_OPS = ("==", "!=")

_TOKEN = re.compile(
    r'\s*(?P<key>[A-Z_]+)(?:\{(?P<attr>[^}]*)\})?\s*(?P<op>==|!=|\+=|-=|:=|=)\s*'
    r'"(?P<value>(?:[^"\\]|\\.)*)"\s*(?P<sep>,|$)')
_SUBST = re.compile(r"\$env\{([^}]*)\}|%E\{([^}]*)\}|\$attr\{([^}]*)\}|%s\{([^}]*)\}"
                    r"|\$kernel|%k|\$\$|%%")


@dataclass(frozen=True)
class Token:
    key: str
    attr: str | None
    op: str
    value: str

    @property
    def is_match(self) -> bool:
        return self.op in MATCH_OPS


@dataclass(frozen=True)
class Rule:
    line: int
    tokens: tuple[Token, ...]

    def get(self, key: str, attr: str | None = None) -> list[Token]:
        return [t for t in self.tokens if t.key == key and (attr is None or t.attr == attr)]


def parse_rules(text: str) -> list[Rule]:
    """Parse a rules file; a line udev would reject raises ConfigError naming it."""
    rules: list[Rule] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if not line or line.startswith("#"):
            continue
        tokens: list[Token] = []
        pos = 0
        while pos < len(line):
            m = _TOKEN.match(line, pos)
            if m is None:
                raise ConfigError(f"udev: строка {start} не разобрана: {line[pos:]!r}",
                                  "исправьте синтаксис правила")
            tokens.append(Token(m["key"], m["attr"], m["op"], m["value"]))
            pos = m.end()
            if not m["sep"]:
                break
        rules.append(Rule(start, tuple(tokens)))
    return rules


@dataclass(frozen=True)
class Device:
    """What a rule can see of a device. ``parents_attrs`` are those ATTRS{} searches."""

    subsystem: str
    kernel: str = ""
    action: str = "add"
    devtype: str | None = None
    attrs: Mapping[str, str] = field(default_factory=dict)
    parents_attrs: tuple[Mapping[str, str], ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    #: what IMPORT{builtin}="<name>" adds to the environment
    builtins: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass
class Outcome:
    mode: str | None = None
    group: str | None = None
    owner: str | None = None
    symlinks: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    run: list[str] = field(default_factory=list)
    applied_lines: list[int] = field(default_factory=list)


def _glob(pattern: str, value: str) -> bool:
    return any(fnmatchcase(value, alt) for alt in pattern.split("|"))


def _substitute(value: str, device: Device, env: Mapping[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        text = m.group(0)
        if text == "$$":
            return "$"
        if text == "%%":
            return "%"
        if text in ("$kernel", "%k"):
            return device.kernel
        env_key = m.group(1) or m.group(2)
        if env_key is not None:
            return env.get(env_key, "")
        attr_key = m.group(3) or m.group(4) or ""
        return device.attrs.get(attr_key, "")

    return _SUBST.sub(repl, value)


def _matches(token: Token, device: Device, env: Mapping[str, str]) -> bool:
    candidates: list[str | None]
    if token.key == "ACTION":
        candidates = [device.action]
    elif token.key == "SUBSYSTEM":
        candidates = [device.subsystem]
    elif token.key == "KERNEL":
        candidates = [device.kernel]
    elif token.key == "ENV":
        if token.attr == "DEVTYPE" and "DEVTYPE" not in env:
            candidates = [device.devtype or ""]
        else:
            candidates = [env.get(token.attr or "", "")]
    elif token.key == "ATTR":
        if (token.attr or "") not in device.attrs:
            return False  # as in udev: a missing attribute matches neither == nor !=
        candidates = [device.attrs[token.attr or ""]]
    elif token.key == "ATTRS":
        raise AssertionError("ATTRS is matched per rule by _attrs_match")
    elif token.key == "TAG":
        hits = any(_glob(token.value, tag) for tag in env.get("__TAGS__", "").split())
        return hits if token.op == "==" else not hits
    else:
        raise ConfigError(f"udev: ключ {token.key} не поддержан проверкой",
                          "добавьте его в kkt_bridge/link/udev_rules.py")
    pattern = token.value
    found = any(c is not None and _glob(pattern, c.rstrip()) for c in candidates)
    if pattern == "" and all(c is None or c == "" for c in candidates):
        found = True
    return found if token.op == "==" else not found


def _attrs_match(tokens: list[Token], device: Device) -> bool:
    """All ATTRS{} of one rule must match on the same device: itself or one parent.

    As in udev, an attribute the level lacks matches neither == nor !=."""
    if not tokens:
        return True
    for level in (device.attrs, *device.parents_attrs):
        if all((t.attr or "") in level
               and _glob(t.value, level[t.attr or ""].rstrip()) == (t.op == "==")
               for t in tokens):
            return True
    return False


def evaluate(rules: list[Rule], device: Device) -> Outcome:
    """Play ``rules`` against ``device`` as udev would, for the supported subset."""
    out = Outcome()
    env = dict(device.env)
    if device.devtype is not None:
        env.setdefault("DEVTYPE", device.devtype)
    final: set[str] = set()
    labels = {t.value: i for i, r in enumerate(rules) for t in r.get("LABEL")}
    index = 0
    steps = 0
    while index < len(rules):
        steps += 1
        if steps > 10 * len(rules) + 10:  # GOTO loops are a bug in the file, not a hang
            raise ConfigError("udev: правила зациклились", "проверьте GOTO и LABEL")
        rule = rules[index]
        index += 1
        env["__TAGS__"] = " ".join(out.tags)
        attrs = [t for t in rule.tokens if t.is_match and t.key == "ATTRS"]
        if not _attrs_match(attrs, device) or not all(
                _matches(t, device, env) for t in rule.tokens
                if t.is_match and t.key != "ATTRS"):
            continue
        out.applied_lines.append(rule.line)
        for token in rule.tokens:
            if token.is_match or token.key == "LABEL":
                continue
            value = _substitute(token.value, device, env)
            if token.key == "GOTO":
                if token.value not in labels:
                    raise ConfigError(f"udev: нет метки {token.value}",
                                      "добавьте LABEL или исправьте GOTO")
                index = labels[token.value]
            elif token.key == "IMPORT" and token.attr == "builtin":
                env.update(device.builtins.get(value, {}))
            elif token.key == "ENV":
                name = token.attr or ""
                if token.op == "+=" and env.get(name):
                    env[name] = f"{env[name]} {value}"
                else:
                    env[name] = value
            elif token.key in ("MODE", "GROUP", "OWNER"):
                if token.key in final:
                    continue
                setattr(out, token.key.lower(), value)
                if token.op == ":=":
                    final.add(token.key)
            elif token.key in ("SYMLINK", "TAG", "RUN"):
                target = {"SYMLINK": out.symlinks, "TAG": out.tags, "RUN": out.run}[token.key]
                if token.key in final:
                    continue
                if token.op in ("=", ":="):
                    target.clear()
                items = value.split() if token.key != "RUN" else [value]
                if token.op == "-=":
                    target[:] = [x for x in target if x not in items]
                else:
                    target.extend(x for x in items if x not in target)
                if token.op == ":=":
                    final.add(token.key)
    env.pop("__TAGS__", None)
    out.env = env
    return out

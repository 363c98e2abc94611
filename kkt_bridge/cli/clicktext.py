"""click's own texts in the UI language: «Usage:», «Show this message and exit.», «Aborted!»,
«Missing option», invalid choices, and the y/N confirmation.

click writes its texts in English and translates them with the standard ``gettext``
function, bound as ``_`` and ``ngettext`` in each of its modules at import. That function
reads compiled catalogs of one global domain and the process locale, which is neither our
catalogs nor a language that can differ per request, so :func:`install_click_texts` rebinds
those names to :func:`kkt_bridge.i18n.gettext_foreign`: the Russian UI reads click's texts
from ``locale/ru/LC_MESSAGES/click.po``, the English one keeps them as they are. Only the
modules loaded by then are routed: click imports its editor, pager, progress bar and shell
completion on first use, and their few texts stay English (kkt-bridge uses none of them).

click's y/N question takes only y/yes/n/no; :func:`confirm` also takes «д»/«да» and
«н»/«нет» in the Russian UI, and is put in its place, so ``click.confirm`` and
``is_flag`` prompts ask in the UI language.
"""

from __future__ import annotations

import gettext
import sys

import click
import click.core
import click.termui

from kkt_bridge.i18n import _, gettext_foreign, ngettext_foreign


def confirm(text: str, default: bool | None = False, abort: bool = False,
            prompt_suffix: str = ": ", show_default: bool = True, err: bool = False) -> bool:
    """``click.confirm`` in the UI language: «Сбросить? [д/Н]: » takes «д», «да», «н», «нет»
    (and y/n); an empty answer is ``default``, or asked again when it is ``None``; Ctrl-C and
    Ctrl-D abort."""
    # the catalog's words («д», «да» ...) and the Latin ones: the keyboard may be English
    yes = {"y", "yes", gettext_foreign("y"), gettext_foreign("yes")}
    no = {"n", "no", gettext_foreign("n"), gettext_foreign("no")}
    choices = "y/n" if default is None else ("Y/n" if default else "y/N")

    def answer(value: str) -> bool:
        word = value.strip().lower()
        if word in yes:
            return True
        if word in no:
            return False
        raise click.BadParameter(_("ответьте «да» или «нет»"))

    suffix = (f" [{gettext_foreign(choices)}]" if show_default else "") + prompt_suffix
    fallback = None if default is None else ("y" if default else "n")
    # click.prompt gives the Ctrl-C/Ctrl-D abort and the ask-again on a bad answer
    result: bool = click.prompt(text, default=fallback, show_default=False,
                                prompt_suffix=suffix, value_proc=answer, err=err)
    if abort and not result:
        raise click.Abort()
    return result


def install_click_texts() -> None:
    """Route the texts of click's loaded modules through our catalogs (idempotent)."""
    for name, module in list(sys.modules.items()):
        if name != "click" and not name.startswith("click."):
            continue
        names = vars(module)
        if names.get("_") in (gettext.gettext, gettext_foreign):
            module._ = gettext_foreign  # type: ignore[attr-defined]
        if names.get("ngettext") in (gettext.ngettext, ngettext_foreign):
            module.ngettext = ngettext_foreign  # type: ignore[attr-defined]
    for module in (click, click.termui, click.core):
        module.confirm = confirm  # type: ignore[attr-defined]

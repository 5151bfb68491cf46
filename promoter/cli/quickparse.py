"""A well-formed command line, read without ``argparse``.

``quick_parse(params, args)`` gives what the command's ``argparse`` parser would give
for ``args`` (the values by ``dest``), or None for a line it leaves to that parser:
help, an option it does not know or a flag given a value, a value that does not
convert or is not one of the choices, an option whose value is missing or starts
with ``-``, ``--``, a short option with its value attached, positional words that
do not fit, or that argparse would share out between options in its own way. The
parser then reads the line as before, so help, usage and every error read the same.
``tests/cli/test_quickparse.py`` holds the two to the same values, command by command.

Why: ``argparse`` (with ``gettext``) and building a command's parser were 5-6 ms of
``promoter copy`` with nothing to do, a process of under 0.1 s (issue #24).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from promoter.cli.params import Argument, Option, Param

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["quick_parse"]

#: A value the parser would refuse (its error is argparse's to word).
_REFUSED = object()


def quick_parse(params: Iterable[Param], args: Sequence[str]) -> dict[str, Any] | None:
    """The parsed values of ``args`` by ``dest``, as argparse gives them; None: ask it."""
    params = list(params)
    by_flag = {flag: p for p in params if isinstance(p, Option) for flag in p.flags}
    values: dict[str, Any] = {
        p.dest: (False if p.flag else None) for p in params if isinstance(p, Option)
    }
    runs: list[list[str]] = []  # the positional words, in runs between options
    last_was_word = False
    at = 0
    while at < len(args):
        word = args[at]
        at += 1
        if not word.startswith("-"):
            if not last_was_word:
                runs.append([])
            runs[-1].append(word)
            last_was_word = True
            continue
        last_was_word = False
        name, equals, attached = word.partition("=") if word.startswith("--") else (word, "", "")
        option = by_flag.get(name)
        if option is None or (option.flag and equals):
            return None
        if option.flag:
            values[option.dest] = True
            continue
        if equals:
            text = attached
        elif at < len(args) and not args[at].startswith("-"):
            text = args[at]
            at += 1
        else:
            return None
        value = _converted(option, text)
        if value is _REFUSED:
            return None
        values[option.dest] = [*(values[option.dest] or ()), value] if option.multiple else value
    if not last_was_word:
        runs.append([])  # what follows the last option: argparse shares that out too
    shared = _shared_out([p for p in params if isinstance(p, Argument)], runs)
    if shared is None:
        return None
    values.update(shared)
    return values


def _converted(option: Option, text: str) -> Any:
    try:
        value = option.convert(text) if option.convert is not None else text
    except ValueError:
        return _REFUSED
    if option.choices is not None and value not in option.choices:
        return _REFUSED
    return value


def _span(argument: Argument) -> tuple[int, int | None]:
    """The fewest and the most words ``argument`` takes (None: no limit)."""
    return (1 if argument.required else 0), (None if argument.many else 1)


def _shared_out(arguments: list[Argument], runs: list[list[str]]) -> dict[str, Any] | None:
    """The positional words shared out as argparse does, or None where it would refuse
    them. Each run of words goes to the most of the arguments still waiting whose
    least it holds, in order, each taking all it may while leaving the later ones
    their least; those arguments are then done, even one that took nothing. A word
    no argument takes, or a required argument no run reaches, is argparse's error."""
    waiting = list(arguments)
    shared: dict[str, Any] = {}
    for run in runs:
        fits = len(waiting)
        while fits and sum(_span(a)[0] for a in waiting[:fits]) > len(run):
            fits -= 1
        at = 0
        for i, argument in enumerate(waiting[:fits]):
            most = _span(argument)[1]
            take = len(run) - at - sum(_span(later)[0] for later in waiting[i + 1 : fits])
            take = take if most is None else min(take, most)
            taken = run[at : at + take]
            at += take
            shared[argument.dest] = taken if argument.many else (taken[0] if taken else None)
        if at < len(run):
            return None
        waiting = waiting[fits:]
    return shared if not waiting else None

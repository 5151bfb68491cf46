"""The quick read of a command line (``promoter.cli.quickparse``) against argparse.

For every command of ``promoter`` (and made-up ones with every shape of positional
arguments), seeded random command lines: valid and invalid values, ``--name=value``
and short forms, repeats, unknown options, ``--``, ``-h``, and positional words
before, between and after the options. Wherever the quick read gives values,
argparse must accept the line and give the same values; wherever argparse refuses
a line, the quick read must have left it to argparse. And the quick read must
take most of the lines argparse accepts, or it would save nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from promoter.cli.commands import NAMES
from promoter.cli.main import cli
from promoter.cli.params import Argument, HelpShown, Option, UsageError, int_range
from promoter.cli.parsing import Command, Group
from promoter.cli.quickparse import quick_parse

#: Texts tried as an option's value: good ones, and ones a converter or argparse refuses.
PLAIN_VALUES = ("v", "a b", "x=y", "", "-v", "--x", "10", "2.5")
NUMBER_VALUES = ("1", "4", "64", "0", "65", "x", "", "-1", "0.5", "1e3")


def _commands() -> Iterator[tuple[str, Command]]:
    """Every command and group, as ``promoter`` runs it (the common options added)."""
    yield "promoter", cli
    for name in NAMES:
        command = cli.get(name)
        assert command is not None
        yield f"promoter {name}", command
        if isinstance(command, Group):
            for sub in command.names:
                found = command.get(sub)
                assert found is not None
                yield f"promoter {name} {sub}", found


def _made_up() -> Iterator[tuple[str, Command]]:
    """Commands with each mix of positional shapes argparse shares out its own way."""
    shapes = {
        "one-then-optional": [(True, False), (False, False)],
        "any-number": [(False, True)],
        "one-then-some": [(True, False), (True, True)],
        "optional-then-any": [(False, False), (False, True)],
        "some-then-one": [(True, True), (True, False)],
        "two-optional": [(False, False), (False, False)],
    }
    for name, shape in shapes.items():
        params = [
            Option(("--out", "-o"), choices=("json", "text")),
            Option(("--jobs", "-j"), convert=int_range(1, 64)),
            Option(("--label",), multiple=True),
            Option(("--quiet", "-q"), flag=True),
            *(Argument(f"p{i}", required=req, many=many) for i, (req, many) in enumerate(shape)),
        ]
        yield name, Command(name, lambda **_: None, params)


def _option_words(option: Option, rng: random.Random) -> list[str]:
    flag = rng.choice(option.flags)
    if option.flag:
        return [f"{flag}=1"] if rng.random() < 0.05 else [flag]
    if option.choices:
        text = rng.choice([*option.choices, *option.choices, "nope"])
    elif option.convert is not None:
        text = rng.choice(NUMBER_VALUES)
    else:
        text = rng.choice(PLAIN_VALUES)
    if rng.random() < 0.03:
        return [flag]  # its value missing
    if flag.startswith("--") and rng.random() < 0.3:
        return [f"{flag}={text}"]
    if not flag.startswith("--") and rng.random() < 0.1:
        return [f"{flag}{text}"]  # attached: argparse's to read
    return [flag, text]


def _line(command: Command, rng: random.Random) -> list[str]:
    options = command.options()
    pieces = [_option_words(rng.choice(options), rng) for _ in range(rng.randint(0, 5))]
    for n in range(rng.choice((0, 0, 1, 2, 2, 3, 4))):
        pieces.insert(rng.randint(0, len(pieces)), [f"word{n}"])
    if rng.random() < 0.08:
        pieces.insert(rng.randint(0, len(pieces)), [rng.choice(("--", "-", "-h", "--nope", "-x"))])
    return [word for piece in pieces for word in piece]


def _argparse_values(command: Command, prog: str, line: list[str]) -> dict[str, object] | None:
    try:
        return vars(command.parser(prog).parse_args(line))
    except (UsageError, HelpShown):
        return None


@pytest.mark.parametrize(
    ("prog", "command"),
    [*_commands(), *_made_up()],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_quick_read_gives_what_argparse_gives(
    prog: str, command: Command, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(f"quickparse {prog}")
    quick_taken = accepted = refused = 0
    for _ in range(400):
        line = _line(command, rng)
        quick = quick_parse(command.params, line)
        full = _argparse_values(command, prog, line)
        if full is None:
            refused += 1
            assert quick is None, f"{prog} {line}: argparse refuses it, the quick read took it"
            continue
        accepted += 1
        if quick is not None:
            quick_taken += 1
            assert quick == full, f"{prog} {line}"
    capsys.readouterr()  # the help that -h printed
    assert refused > 0 and accepted > 0
    assert quick_taken >= 0.6 * accepted, (prog, quick_taken, accepted)


def test_a_line_the_quick_read_leaves_still_gets_argparse_s_answer() -> None:
    copy = cli.get("copy")
    assert copy is not None
    line = ["--jobs", "99", "a", "b"]
    assert quick_parse(copy.params, line) is None
    with pytest.raises(UsageError, match="invalid value for '--jobs': 99 is not in the range"):
        copy.parse(line, "promoter copy")
    assert copy.parse(["-j", "8", "a", "b"], "promoter copy")["jobs"] == 8

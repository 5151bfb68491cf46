"""Just enough Dockerfile reading to locate instructions and base images.

Not a builder: kaniko interprets the Dockerfile. promoter reads it to name the
line a failed instruction came from, and to know which registries the base
images come from (so only their credentials go into the build).
"""

from __future__ import annotations

import re

from promoter.structs import struct

__all__ = ["Instruction", "base_images", "parse_instructions"]

_ARG_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@struct(frozen=True)
class Instruction:
    """One logical instruction: where it starts, its keyword (upper case), its arguments."""

    line: int
    keyword: str
    arguments: str

    @property
    def text(self) -> str:
        """The instruction as one line with single spaces."""
        return " ".join(f"{self.keyword} {self.arguments}".split())


def parse_instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    escape = "\\"
    directive = re.match(r"\s*#\s*escape\s*=\s*(\S)", text)
    if directive:
        escape = directive.group(1)
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending:
            if not line or line.startswith("#"):
                continue
            start = number
        elif line.startswith("#"):
            continue  # comments inside a continued instruction are skipped
        if line.endswith(escape):
            pending.append(line[: -len(escape)].rstrip())
            continue
        pending.append(line)
        joined = " ".join(part for part in pending if part)
        pending = []
        keyword, _, arguments = joined.partition(" ")
        instructions.append(Instruction(start, keyword.upper(), arguments.strip()))
    if pending:
        joined = " ".join(part for part in pending if part)
        keyword, _, arguments = joined.partition(" ")
        instructions.append(Instruction(start, keyword.upper(), arguments.strip()))
    return instructions


def _substitute(value: str, args: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        return args.get(match.group(1) or match.group(2), "")

    return _ARG_REF.sub(one, value)


def base_images(
    text: str, build_args: dict[str, str] | None = None, target: str | None = None
) -> list[str]:
    """The images the Dockerfile's stages start FROM, without ``scratch`` and stage names.

    ``ARG`` lines before the first ``FROM`` (with ``build_args`` overriding their
    defaults) are substituted, as Docker does. With a ``target``, the stages
    after it are left out (kaniko stops there).
    """
    given = dict(build_args or {})
    args: dict[str, str] = {}
    stages: set[str] = set()
    images: list[str] = []
    seen_from = False
    for instruction in parse_instructions(text):
        words = instruction.arguments.split()
        if instruction.keyword == "ARG" and not seen_from and words:
            name, _, default = words[0].partition("=")
            args[name] = given.get(name, default.strip('"'))
        elif instruction.keyword == "FROM":
            if target is not None and target.lower() in stages:
                break  # the target stage is complete
            seen_from = True
            names = [w for w in words if not w.startswith("--")]
            if not names:
                continue
            image = _substitute(names[0], args)
            if image and image.lower() != "scratch" and image.lower() not in stages:
                images.append(image)
            if len(names) >= 3 and names[1].lower() == "as":
                stages.add(names[2].lower())
    return images

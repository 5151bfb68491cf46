"""One module per command; ``COMMANDS`` is what ``promoter.cli.main`` registers."""

from __future__ import annotations

import click

from promoter.cli.commands.apply import apply
from promoter.cli.commands.build import build
from promoter.cli.commands.check import check
from promoter.cli.commands.copy import copy
from promoter.cli.commands.history import history
from promoter.cli.commands.index import index
from promoter.cli.commands.inspect import inspect
from promoter.cli.commands.keygen import keygen
from promoter.cli.commands.plan import plan
from promoter.cli.commands.prune import prune
from promoter.cli.commands.rollback import rollback
from promoter.cli.commands.run import run
from promoter.cli.commands.schema import schema
from promoter.cli.commands.tags import tags
from promoter.cli.commands.validate import validate

__all__ = ["COMMANDS"]

COMMANDS: tuple[click.Command, ...] = (
    validate,
    plan,
    run,
    apply,
    build,
    copy,
    check,
    inspect,
    index,
    tags,
    schema,
    keygen,
    history,
    rollback,
    prune,
)

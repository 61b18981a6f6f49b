"""docs/cli.md, generated from the `--help` of every command: `python -m cli.reference > docs/cli.md`.

tests/test_cli_reference.py fails when the file is not what this prints, so the reference
never drifts from the commands (as sqlite-utils keeps its docs with cog).
"""
from __future__ import annotations

import click

WIDTH = 100         # fixed, so the text does not depend on the terminal that ran the generator


def _commands(ctx: click.Context):
    """(context, command) for the group and every command under it, in the order help lists them."""
    yield ctx
    command = ctx.command
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _commands(click.Context(sub, info_name=name, parent=ctx, terminal_width=WIDTH,
                                                   max_content_width=WIDTH))


def reference() -> str:
    from cli.main import cli

    root = click.Context(cli, info_name="sweep", terminal_width=WIDTH, max_content_width=WIDTH)
    parts = ["# Command reference\n\n",
             "Generated from `--help` by `python -m cli.reference > docs/cli.md`; do not edit by hand.\n"]
    for ctx in _commands(root):
        parts.append(f"\n## {ctx.command_path}\n\n```\n{ctx.command.get_help(ctx)}\n```\n")
    return "".join(parts)


if __name__ == "__main__":
    print(reference(), end="")

"""Entry point: lazy command groups, and the one place where errors become a line and an exit code."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

# command name -> "module:attribute"; a module is imported only when its command runs, so
# that `coopledger member show` does not pay for the imports of `coopledger gem export`.
COMMANDS: dict[str, str] = {
    "key": "cli.commands.keys:key",
    "charter": "cli.commands.charter:charter",
    "init": "cli.commands.setup:init",
    "member": "cli.commands.members:member",
    "log": "cli.commands.log:log",
    "verify": "cli.commands.verify:verify",
    "bundle": "cli.commands.verify:bundle",
    "checkpoint": "cli.commands.transparency:checkpoint",
    "proof": "cli.commands.transparency:proof",
    "verify-receipt": "cli.commands.transparency:verify_receipt",
    "demo": "cli.commands.demo:demo",
    "rebuild": "cli.commands.rebuild:rebuild",
    "dwelling": "cli.commands.shares:dwelling",
    "index": "cli.commands.index:index",
    "fund": "cli.commands.fund:fund",
    "share": "cli.commands.shares:share",
    "price": "cli.commands.shares:price",
    "correct": "cli.commands.shares:correct",
    "workspace": "cli.commands.werk:workspace",
    "lease": "cli.commands.werk:lease",
    "property": "cli.commands.levy:property_",
    "levy": "cli.commands.levy:levy",
    "contribution": "cli.commands.contribution:contribution",
    "gem": "cli.commands.levy:gem",
}

HELP = {
    "key": "Make, show, authorise and revoke signing keys.",
    "charter": "Print the charter template, show or amend the charter in force.",
    "init": "Found a new ledger: entry 0 with the charter, governor and log key.",
    "member": "Admit, show, list and forget members.",
    "log": "Read the log; give the log key its memory back (log adopt).",
    "verify": "Verify the ledger, or an exported bundle offline.",
    "bundle": "Export an auditor bundle.",
    "checkpoint": "Print a signed checkpoint, or the log's verifier key.",
    "proof": "Inclusion and consistency proofs.",
    "verify-receipt": "Check a member's receipt offline.",
    "demo": "Build a small, realistic ledger and verify it.",
    "rebuild": "Recompute every projection record from the verified log (repair, upgrade).",
    "dwelling": "Register, show and list dwellings and their price rules.",
    "index": "Publish, correct and show index series values.",
    "fund": "Deposit into and show the cooperative fund.",
    "share": "Sell and buy back shares at preset prices; the share register.",
    "price": "Explain a dwelling share's preset price on a date.",
    "correct": "Reverse an earlier entry whose effect can still be undone (governor).",
    "workspace": "Werkcorporatie: register and list workspaces, report occupancy.",
    "lease": "Werkcorporatie: waiting list, grant, index and end leases, rent roll.",
    "property": "Register levy-bound properties; record sales with their levy.",
    "levy": "Explain, pay, waive and list surplus-value levies.",
    "contribution": "Monthly area contributions: charge a month, payments, arrears.",
    "gem": "Export the GEM's signed levy and contribution files; verify an export.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="coop-ledger", prog_name="coopledger")
def cli() -> None:
    """coop-ledger: the signed, append-only ledger of a housing and workspace cooperative."""


def not_utf8(args: list[str]) -> str | None:
    """The first argument or COOPLEDGER_* variable that is not valid UTF-8 (Python hands such
    bytes over as surrogate escapes, which no later step could encode), or None."""
    named = [(f"argument {a!r}", a) for a in args]
    named += [(f"{k}={v!r}", v) for k, v in os.environ.items() if k.startswith("COOPLEDGER_")]
    for what, value in named:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{what} is not valid UTF-8"
    return None


def say_error(message: str, prefix: str = "coopledger: error: ") -> None:
    """The one way an error reaches the terminal: one line, with control characters, bidi
    overrides and line breaks from ids, files or a database shown escaped, never acted on."""
    from ledger.types import printable

    line = printable(message).replace("\n", "\\n").replace("\t", " ")
    click.echo(f"{prefix}{line}", err=True)


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; a LedgerError becomes one line on stderr and exit code 1 (2 for usage)."""
    from pydantic import ValidationError

    from ledger.errors import LedgerError

    args = sys.argv[1:] if argv is None else argv
    problem = not_utf8(args)
    if problem is not None:
        say_error(problem)
        sys.exit(2)
    try:
        rc = cli.main(args=args, prog_name="coopledger", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("coopledger: aborted", err=True)
        sys.exit(1)
    except click.UsageError as e:
        where = e.ctx.command_path if e.ctx is not None else "coopledger"
        say_error(f"{e.format_message()} (see {where} --help)")
        sys.exit(2)
    except click.ClickException as e:
        say_error(e.format_message())
        sys.exit(e.exit_code)
    except LedgerError as e:
        say_error(str(e))
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("coopledger: interrupted; nothing was appended", err=True)
        sys.exit(130)
    except ValidationError as e:  # a model built from user input without ledger.types.validated
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        say_error(f"{where}: {first['msg']}")
        sys.exit(1)
    except OSError as e:
        say_error(f"{e.strerror or e}: {e.filename or ''}".rstrip(": "))
        sys.exit(1)
    except Exception as e:  # a bug, not a user mistake: still one line unless debugging
        if os.environ.get("COOPLEDGER_DEBUG"):
            raise
        summary = (str(e).strip().splitlines() or [""])[0]
        say_error(f"{type(e).__name__}: {summary}", "coopledger: internal error: ")
        sys.exit(3)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()

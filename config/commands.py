"""The base of our management commands: a wrong argument is one readable line and exit status 2.

Django's parser prints the whole usage (5-6 lines) before argparse's message; an operator wants
the one line that says what is wrong, and `--help` for the rest.
"""

from django.core.management.base import BaseCommand as DjangoBaseCommand
from django.core.management.base import CommandError


class BaseCommand(DjangoBaseCommand):
    """Every command of ours: argument errors as one line (from the command line), CommandError
    when called from code (call_command), as Django does."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message):
            if parser.called_from_command_line:
                parser.exit(2, f"{parser.prog}: {message} (see {parser.prog} --help)\n")
            raise CommandError(f"Error: {message}")

        parser.error = error
        return parser

"""Errors the command line turns into clear messages and exit codes (never a traceback)."""


class UserError(Exception):
    """A problem with the user's input (unknown physician, empty period, bad path): exit code 2."""

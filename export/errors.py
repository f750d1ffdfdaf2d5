"""The one exception type the export side raises for problems a user can fix.

The command line turns it into a one-line message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations


class ExportError(RuntimeError):
    """A conversion, checkpoint or parity problem, with a message meant for the user."""

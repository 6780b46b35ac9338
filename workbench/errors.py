"""One exception type for problems the user can fix.

The CLI prints a ``WorkbenchError`` as a single line (problem and fix) without a traceback;
``--debug`` shows the traceback. Anything else is a bug and keeps its traceback.
"""


class WorkbenchError(Exception):
    """A problem with the user's input or environment, with a message that names the fix."""

"""Credentials never reach a store, a log, an error message or a model fingerprint.

Why one module: server URLs may carry ``user:password@`` and command lines ``--api-key X``;
the store (design and command of a run), the probe (model identity), the CLI and the server
backend (URLs, server error texts that echo the key) must all strip them the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# scheme://userinfo@ : the userinfo ends at the last '@' before the host's '/', '?' or '#'.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s\"']*@")
# a flag or key whose name ends in a secret's name (--api-key, --auth-token, password=...)
_SECRET_WORD = r"(?:\w+[-_])*(?:api[-_]?key|key|token|password|passwd|secret)"
_SECRET_FLAG = re.compile(rf"(?i)^--?{_SECRET_WORD}$")
_SECRET_ASSIGN = re.compile(rf"(?i)^({_SECRET_WORD})=(.*)$")
HIDDEN = "***"


def redact_credentials(text: str) -> str:
    """``text`` with ``user:password@`` removed from every URL in it.

    >>> redact_credentials("openai:m@http://u:p@ss@host:8/v1")
    'openai:m@http://host:8/v1'
    """
    return _URL_USERINFO.sub(r"\1", text)


def redact_command(argv: list[str] | str) -> str:
    """A command line safe to store: URL credentials dropped, secret-looking values blanked.

    Values of flags like ``--api-key X`` / ``--token=X`` and ``KEY=VALUE`` words whose key
    names a secret (``api_key=...``; ``api_key_env=NAME`` only names a variable and stays).
    """
    words = argv.split(" ") if isinstance(argv, str) else list(argv)
    out: list[str] = []
    hide_next = False
    for word in words:
        if hide_next:
            out.append(HIDDEN)
            hide_next = False
            continue
        flag, eq, _ = word.partition("=")
        if _SECRET_FLAG.match(flag):
            if eq:
                out.append(f"{flag}={HIDDEN}")
            else:
                out.append(word)
                hide_next = True
            continue
        m = _SECRET_ASSIGN.match(word)
        if m:
            out.append(f"{m.group(1)}={HIDDEN}")
            continue
        out.append(redact_credentials(word))
    return " ".join(out)


def redact_json(value: object) -> object:
    """Every string (keys too) of a JSON-like structure with URL credentials removed."""
    if isinstance(value, str):
        return redact_credentials(value)
    if isinstance(value, dict):
        return {redact_credentials(str(k)): redact_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact_json(v) for v in value]
    return value


def secret_redactor(secret: str) -> Callable[[str], str]:
    """A function that blanks ``secret`` (an API key) out of any text; servers may echo it."""
    if not secret:
        return lambda text: text
    return lambda text: text.replace(secret, HIDDEN)

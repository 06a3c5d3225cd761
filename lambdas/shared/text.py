"""Small text helpers for values that end up in AWS fields with tight limits.

Facet names and metric values come from files a training job wrote, so they can hold anything:
newlines, non-ASCII, megabytes of text. ApprovalDescription (1024 characters), SNS subjects
(100 ASCII characters) and log lines must stay valid whatever those files contain.
"""

from __future__ import annotations

from pydantic import ValidationError

TRUNCATION_MARKER = " ...[truncated]"


def printable(text: str, limit: int = 80) -> str:
    """Return ``text`` as one line of printable ASCII, at most ``limit`` characters.

    Non-ASCII and control characters are escaped (``\\n``, ``\\xe9``) rather than dropped, so
    a reviewer can still tell two odd facet names apart.

    Examples
    --------
    >>> printable("gender\\nfemale")
    'gender\\\\nfemale'
    """
    escaped = text.encode("unicode_escape").decode("ascii")
    return clip(escaped, limit)


def clip(text: str, limit: int, marker: str = TRUNCATION_MARKER) -> str:
    """Cut ``text`` to at most ``limit`` characters, ending with ``marker`` when it was cut.

    Examples
    --------
    >>> clip("abcdef", 5, marker="~")
    'abcd~'
    """
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return text[:limit]
    return text[: limit - len(marker)] + marker


def summarise_validation_error(error: ValidationError, max_errors: int = 5) -> str:
    """Describe a pydantic error by location and message only.

    The offending input is left out on purpose: it may be megabytes long, and the caller
    already has it.
    """
    details = error.errors(include_url=False, include_input=False, include_context=False)
    parts = [f"{'.'.join(str(p) for p in item['loc']) or '<root>'}: {item['msg']}" for item in details]
    if len(parts) > max_errors:
        parts = [*parts[:max_errors], f"and {len(parts) - max_errors} more"]
    return printable("; ".join(parts), limit=1000)

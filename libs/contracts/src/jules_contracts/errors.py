"""The one base of every IntradayJules error.

Every exception the project raises on purpose derives from ``JulesError`` (and, where it
refines one, from the builtin too: ``ValueError``, ``RuntimeError``), so a caller can catch the
platform's own failures apart from bugs. It lives in the contracts because every package,
the pure engines included, may import them.
"""

from __future__ import annotations

__all__ = ["JulesError"]


class JulesError(Exception):
    """Base of every IntradayJules error."""

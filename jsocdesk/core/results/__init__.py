"""Lazily loaded record listings (:class:`~jsocdesk.core.results.resultset.ResultSet`)."""

from __future__ import annotations

from jsocdesk.core.results.resultset import ResultSet

__all__ = ["ResultSet"]

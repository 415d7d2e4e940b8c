"""The PySide6 desktop app: a thin layer over :mod:`jsocdesk.core` (all Qt lives here)."""

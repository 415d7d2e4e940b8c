"""The Qt-free core of jsocdesk.

Nothing under this package may import PySide6, shiboken6 or qasync (enforced by
``tests/core/test_qt_free.py``).  Plain asyncio + httpx, typed errors, no widgets.
"""

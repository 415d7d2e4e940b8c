"""Image viewer for downloaded FITS files (pyqtgraph, sunpy colour tables and frames)."""

from jsocdesk.gui.viewer.window import ViewerWindow, open_viewer

__all__ = ["ViewerWindow", "open_viewer"]

"""jsocdesk: a desktop client for JSOC, the archive of SDO/HMI/AIA data."""

__version__ = "0.1.0"

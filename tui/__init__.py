"""neptune-audit: read Amazon Neptune audit logs fast, in a terminal or headless."""

__version__ = "0.1.0"

"""vigil: a compact, Pacemaker-compatible high-availability stack."""

__version__ = "0.1.0"

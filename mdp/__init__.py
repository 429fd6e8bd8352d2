"""Marketing Data Platform: the application core (configuration, errors, paths) and the CLI."""

from __future__ import annotations

__version__ = "0.1.0"

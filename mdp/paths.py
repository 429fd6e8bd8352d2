"""Where the project's files live: resolved here, once."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
TRANSFORMATIONS_DIR = PROJECT_ROOT / "transformations"
DEFAULT_CONFIG_NAME = "pipeline.yaml"
CONFIG_ENV_VAR = "MDP_CONFIG"


def default_config_path() -> Path:
    """The configuration file: `$MDP_CONFIG`, else ./pipeline.yaml, else the project's sample."""
    explicit = os.environ.get(CONFIG_ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    if local.is_file():
        return local
    return PROJECT_ROOT / DEFAULT_CONFIG_NAME

"""Stable hashes and private RNGs: every sandbox value derives from a hash of (seed, entity, day, ...)."""

from __future__ import annotations

import hashlib
import random


def stable_hash(*parts: object) -> int:
    text = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def rng_for(*parts: object) -> random.Random:
    """A private RNG seeded from a hash of `parts` (seed, entity, day, ...)."""
    return random.Random(stable_hash(*parts))

"""Seed derivation: every random choice comes from (global seed, named keys).

A work unit derives its generator from the global seed and its own identity, so results
do not depend on how many workers run or in which order.
"""
from __future__ import annotations

import hashlib

import numpy as np


def _key_to_int(key: int | str) -> int:
    if isinstance(key, (int, np.integer)):
        if key < 0:
            raise ValueError(f"seed keys must be non-negative integers or strings, got {key}")
        return int(key)
    digest = hashlib.blake2b(str(key).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def derive_seed_sequence(seed: int, *keys: int | str) -> np.random.SeedSequence:
    """A SeedSequence for (seed, *keys); strings are hashed stably (not with hash())."""
    return np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(_key_to_int(k) for k in keys))


def derive_rng(seed: int, *keys: int | str) -> np.random.Generator:
    """A numpy Generator that depends only on the global seed and the keys."""
    return np.random.default_rng(derive_seed_sequence(seed, *keys))


def derive_int_seed(seed: int, *keys: int | str) -> int:
    """A 32-bit integer seed for libraries that want an int (e.g. coacd)."""
    return int(derive_seed_sequence(seed, *keys).generate_state(1, dtype=np.uint32)[0])

"""Image-wise and object-wise k-fold splits (grouped: no group on both sides of a fold)."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..seeding import derive_rng


def kfold_splits(groups, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, test) index pairs over items labelled by ``groups``.

    Groups are shuffled with the seed and dealt into ``k`` folds of near-equal group count;
    fold i is the test set of split i. With one group per image this is the image-wise split;
    with object ids it is the object-wise split.
    """
    g = np.asarray(groups)
    uniq = np.unique(g)
    if k < 2 or k > len(uniq):
        raise ConfigError(f"cannot make {k} folds from {len(uniq)} groups; choose 2 ≤ k ≤ {len(uniq)}")
    order = uniq.copy()
    derive_rng(seed, "kfold").shuffle(order)
    folds = np.array_split(order, k)
    out = []
    for f in folds:
        test = np.isin(g, f)
        out.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return out


def grouped_holdout(groups, train_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One (train, val) index split with no group on both sides; both sides non-empty when
    there are at least two groups."""
    g = np.asarray(groups)
    ids = np.unique(g)
    rng.shuffle(ids)
    n_train = int(round(train_fraction * len(ids)))
    if len(ids) >= 2:
        n_train = min(max(n_train, 1), len(ids) - 1)
    in_train = np.isin(g, ids[:n_train])
    return np.flatnonzero(in_train), np.flatnonzero(~in_train)

"""Each bank's loan book is one .npz file: x_train, y_train, x_test, y_test."""

from pathlib import Path

import numpy as np


def load(location: str):
    with np.load(location, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def partition(out_dir: str, parts: int, seed: int = 5, per_bank: int = 1200) -> list[str]:
    """Generate a loan book per bank. Each bank serves a different market (income levels and
    debt burdens differ: non-IID); default follows a logistic model of debt-to-income,
    utilisation, delinquencies, history and income."""
    rng = np.random.default_rng(seed)
    books = []
    for bank in range(parts):
        n = per_bank
        income = rng.lognormal(10.6 + 0.25 * (bank % 3), 0.45, n)
        age = rng.integers(21, 75, n).astype(float)
        debt_to_income = np.clip(rng.normal(0.32 - 0.04 * (bank % 3), 0.12, n), 0.0, 1.2)
        utilisation = np.clip(rng.beta(2, 3, n) + 0.05 * (2 - bank % 3), 0, 1)
        history_years = np.clip(age - 18 - rng.exponential(5, n), 0, None)
        open_accounts = rng.poisson(4 + bank % 3, n).astype(float)
        delinquencies = rng.poisson(0.3 + 0.2 * (2 - bank % 3), n).astype(float)
        loan = income * rng.uniform(0.1, 0.9, n)
        logit = (-3.0 + 4.0 * debt_to_income + 2.5 * utilisation + 0.8 * delinquencies
                 - 0.06 * history_years - 0.6 * (np.log(income) - 10.6) + 0.3 * loan / income)
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
        x = np.column_stack([np.log(income), age, debt_to_income, utilisation, history_years,
                             open_accounts, delinquencies, np.log(loan)])
        books.append((x, y))
    return _write(out_dir, books, rng)


def _write(out_dir, parts, rng) -> list[str]:
    """Standardise with the consortium's statistics (agreed beforehand) and keep a fifth of
    each organisation's records as its held-out set."""
    x_all = np.concatenate([x for x, _ in parts])
    mean, std = x_all.mean(axis=0), x_all.std(axis=0) + 1e-9
    paths = []
    for i, (x, y) in enumerate(parts):
        x = ((x - mean) / std).astype(np.float32)
        order = rng.permutation(len(y))
        cut = len(y) * 4 // 5
        path = Path(out_dir) / f"part-{i + 1}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x_train=x[order[:cut]], y_train=y[order[:cut]],
                 x_test=x[order[cut:]], y_test=y[order[cut:]])
        paths.append(str(path))
    return paths

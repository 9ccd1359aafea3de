"""Finance: three banks train a credit-risk model on generated but realistic loan books.

    python examples/finance.py [--dir NETWORK_DIR] [--rounds 5]

Each bank serves a different market (income levels and debt burdens differ: non-IID); default
follows a logistic model of debt-to-income, utilisation, delinquencies, history and income.
"""

import numpy as np
from usecase import run


def loan_books(parts: int, seed: int, per_bank: int = 1200):
    rng = np.random.default_rng(seed)
    books, all_x, all_y = [], [], []
    for bank in range(parts):
        n = per_bank
        income = rng.lognormal(10.6 + 0.25 * bank, 0.45, n)              # yearly, currency units
        age = rng.integers(21, 75, n).astype(float)
        debt_to_income = np.clip(rng.normal(0.32 - 0.04 * bank, 0.12, n), 0.0, 1.2)
        utilisation = np.clip(rng.beta(2, 3, n) + 0.05 * (2 - bank), 0, 1)
        history_years = np.clip(age - 18 - rng.exponential(5, n), 0, None)
        open_accounts = rng.poisson(4 + bank, n).astype(float)
        delinquencies = rng.poisson(0.3 + 0.2 * (parts - bank - 1), n).astype(float)
        loan = income * rng.uniform(0.1, 0.9, n)
        logit = (-3.0 + 4.0 * debt_to_income + 2.5 * utilisation + 0.8 * delinquencies
                 - 0.06 * history_years - 0.6 * (np.log(income) - 10.6) + 0.3 * loan / income)
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
        x = np.column_stack([np.log(income), age, debt_to_income, utilisation, history_years,
                             open_accounts, delinquencies, np.log(loan)])
        all_x.append(x)
        all_y.append(y)
    x_all, y_all = np.concatenate(all_x), np.concatenate(all_y)
    mean, std = x_all.mean(axis=0), x_all.std(axis=0) + 1e-9
    test_idx = rng.choice(len(y_all), size=len(y_all) // 5, replace=False)
    test_mask = np.zeros(len(y_all), bool)
    test_mask[test_idx] = True
    offset = 0
    for x, y in zip(all_x, all_y, strict=True):
        keep = ~test_mask[offset:offset + len(y)]
        books.append((((x - mean) / std)[keep].astype(np.float32), y[keep]))
        offset += len(y)
    return books, (((x_all - mean) / std)[test_mask].astype(np.float32), y_all[test_mask])


if __name__ == "__main__":
    run("credit-risk scoring", ["Bank North", "Bank Central", "Bank South"], loan_books)

"""Medical: three hospitals train a breast-cancer diagnosis model without sharing patients.

    python examples/medical.py [--dir NETWORK_DIR] [--rounds 5]
"""

from usecase import run

from fedfabric.fl.samples import breast_cancer

if __name__ == "__main__":
    run("breast-cancer diagnosis", ["Hospital A", "Hospital B", "Hospital C"],
        lambda parts, seed: breast_cancer(parts, seed=seed))

"""Medical: three hospitals train a breast-cancer diagnosis model without sharing patients
(the app in apps/breast_cancer).

    python examples/medical.py [--dir NETWORK_DIR] [--rounds 5]
"""

from usecase import run

if __name__ == "__main__":
    run("breast-cancer diagnosis", "breast_cancer", ["Hospital A", "Hospital B", "Hospital C"])

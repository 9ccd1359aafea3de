"""Finance: three banks train a credit-risk model on their own loan books (the app in
apps/credit: generated but realistic books; each bank serves a different market).

    python examples/finance.py [--dir NETWORK_DIR] [--rounds 5]
"""

from usecase import run

if __name__ == "__main__":
    run("credit-risk scoring", "credit", ["Bank North", "Bank Central", "Bank South"])

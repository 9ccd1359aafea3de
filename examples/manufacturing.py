"""Manufacturing: three plants train a defect predictor on their own sensor logs (the app in
apps/defects: generated logs; each plant runs its machines in a different regime).

    python examples/manufacturing.py [--dir NETWORK_DIR] [--rounds 5]
"""

from usecase import run

if __name__ == "__main__":
    run("defect prediction", "defects", ["Plant Lyon", "Plant Torino", "Plant Brno"])

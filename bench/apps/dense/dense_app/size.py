"""The model's and the data's size (bench/consortium.py rewrites this file per benchmark)."""

FEATURES = 64
HIDDEN = 1515  # 1515 * (64 + 2) + 1 = 99,991 parameters
ROWS = 400  # training rows per organisation
HELD_OUT = 100  # held-out rows per organisation

"""Breast-cancer diagnosis: a small dense classifier over 30 standardised features."""

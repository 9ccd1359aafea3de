"""Defect prediction: the probability that a part is defective, from seven machine sensors."""

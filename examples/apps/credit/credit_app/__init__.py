"""Credit-risk scoring: the probability that a loan defaults, from eight borrower features."""

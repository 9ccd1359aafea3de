"""Helpers the integration and reliability tests share."""

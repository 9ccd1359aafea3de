"""Handwritten digits: a small convolutional network on 8x8 grey images."""

"""Offline tooling: datasets, training and evaluation. Never imported on the request path."""

"""Envoy external processing: a thin adapter from ProcessingRequest to RoutePlan and back."""

"""Reusable constructs: one unit each, exposing the resources they create as attributes."""

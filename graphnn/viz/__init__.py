"""Visualization."""

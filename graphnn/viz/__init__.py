"""Rendering (see the rendering issue)."""

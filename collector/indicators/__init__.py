"""Streaming indicators (see the indicators issue)."""

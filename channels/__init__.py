"""Destinations for finished clips, one module each behind one small interface.

Channels use the catalog, never `flows/`.
"""

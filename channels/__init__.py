"""Destinations for finished clips, one module each behind one small interface.

Channels take a `PublishRequest` (built by `pipeline.publishing` from the catalog) and never
import `pipeline/`, `flows/` or `media/`: what they need to know about a video comes in the
request.
"""

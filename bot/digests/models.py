"""Tables of the digests feature."""

"""Tables of the codered feature."""

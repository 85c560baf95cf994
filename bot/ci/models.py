"""Tables of the ci feature."""

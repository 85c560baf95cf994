"""Tables of the home feature."""

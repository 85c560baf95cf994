"""Tables of the standups feature."""

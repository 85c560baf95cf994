"""Tables of the agents feature."""

"""Models of drivers."""

"""Models of comments."""

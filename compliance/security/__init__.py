"""Security building blocks: password hashing, login throttling, response headers."""

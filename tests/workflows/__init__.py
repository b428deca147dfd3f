"""Unit tests of the rules core (``workflows``): pure functions, no database, no app."""

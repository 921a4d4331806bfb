"""letters: official letters to municipalities from the ПОС widget monitoring."""

__version__ = "0.7.0"

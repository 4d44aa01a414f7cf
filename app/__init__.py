"""AI // Encyclopedia: an interactive machine-learning textbook that runs its own numbers."""

__version__ = "0.1.0"

"""Sessions on disk: the generic CSV session format, and loading any supported input."""

"""Session history: the SQLite store, batch analysis of folder trees, and trends."""

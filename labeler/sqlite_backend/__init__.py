"""SQLite for several processes: writers queue for the one write lock instead of polling for it."""

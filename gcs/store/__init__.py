"""Persistence: settings (gcs.toml), SQLite database (gcs.db), files in the data directory."""

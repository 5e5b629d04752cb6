"""Command-line front end: `gcs`, `gcs serve`, `gcs demo`, `gcs sim` and the admin commands."""

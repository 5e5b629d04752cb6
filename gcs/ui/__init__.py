"""gcs.ui layer (see DESIGN.md)."""

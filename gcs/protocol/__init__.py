"""gcs.protocol layer (see DESIGN.md)."""

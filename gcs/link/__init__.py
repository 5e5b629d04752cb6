"""gcs.link layer (see DESIGN.md)."""

"""gcs.web layer (see DESIGN.md)."""

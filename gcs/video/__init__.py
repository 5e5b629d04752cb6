"""gcs.video layer (see DESIGN.md)."""

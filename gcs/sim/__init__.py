"""gcs.sim layer (see DESIGN.md)."""

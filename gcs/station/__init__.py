"""gcs.station layer (see DESIGN.md)."""

"""The station map page: our JS and CSS (Leaflet itself is installed by gcs.ui.assets)."""

"""gcs: a desktop ground station that is a complete, offline DJI Cloud API platform."""

__version__ = "0.1.0"

"""Defaults shared by the broker's launcher and server (kept apart so that starting the child
process does not import amqtt into the station)."""

DEFAULT_MAX_QUEUED = 1000

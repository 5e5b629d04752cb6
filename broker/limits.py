"""Defaults shared by the broker's launcher and server (kept apart so that starting the child
process does not import amqtt into the station)."""

DEFAULT_MAX_QUEUED = 1000
DEFAULT_MAX_PACKET = 4 * 1024 * 1024
"""Largest MQTT packet a client may send (bytes). DJI's largest messages are a few KB."""
DEFAULT_STALL_TIMEOUT = 15.0
"""Seconds a device or Pilot session may stay over its queue bound before it is disconnected."""
DEFAULT_IDLE_TAKEOVER = 10.0
"""Seconds of silence after which a connection's client id may be taken over by another login
(a half-open connection after a network cut); a live one never is."""

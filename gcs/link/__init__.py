"""gcs.link: the station's MQTT client (paho-mqtt) with DJI request/reply correlation."""

from gcs.link.client import MqttLink
from gcs.link.errors import CommandError, CommandTimeout, LinkError, NotConnected
from gcs.link.url import BrokerUrl

__all__ = ["BrokerUrl", "CommandError", "CommandTimeout", "LinkError", "MqttLink", "NotConnected"]

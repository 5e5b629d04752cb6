"""gcs.link: the station's MQTT client (paho-mqtt): decode in, publish out."""

from gcs.link.client import MqttLink
from gcs.link.errors import LinkError, NotConnected
from gcs.link.url import BrokerUrl

__all__ = ["BrokerUrl", "LinkError", "MqttLink", "NotConnected"]

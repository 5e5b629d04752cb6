"""The station's MQTT broker: launcher, auth file, per-gateway ACL, external-broker configs.

See broker/README.md for the choice of broker, the access rules and measured figures.
"""

from __future__ import annotations

from broker.auth import (
    AUTH_FILE_NAME,
    AuthFile,
    AuthFileError,
    Policy,
    User,
    hash_password,
    verify_password,
)
from broker.limits import DEFAULT_MAX_QUEUED
from broker.process import BrokerProcess, BrokerStartError, child_command, print_ready, run

__all__ = [
    "AUTH_FILE_NAME",
    "DEFAULT_MAX_QUEUED",
    "AuthFile",
    "AuthFileError",
    "BrokerProcess",
    "BrokerStartError",
    "Policy",
    "User",
    "child_command",
    "hash_password",
    "print_ready",
    "run",
    "verify_password",
]

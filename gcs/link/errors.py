"""Errors of the MQTT link: one family to catch, each carrying what its handler needs."""

from __future__ import annotations


class LinkError(Exception):
    """Base of every link error."""


class NotConnected(LinkError):
    """The broker connection is down and the operation cannot wait for it."""

"""`gcs broker`: run the embedded MQTT broker in this process (the station starts it as a child).

The station normally starts this through `broker.BrokerProcess`; it is also handy to run a
broker by hand against a data directory's ``broker-auth.json``.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the ``broker`` sub-command."""
    from broker.limits import (
        DEFAULT_IDLE_TAKEOVER,
        DEFAULT_MAX_PACKET,
        DEFAULT_MAX_QUEUED,
        DEFAULT_STALL_TIMEOUT,
    )
    from broker.process import DEFAULT_HOST, DEFAULT_PORT

    parser = subparsers.add_parser(
        "broker",
        help="run the embedded MQTT broker",
        description="Run the embedded MQTT broker (amqtt; MQTT 3.1.1 and 5) with the station's "
        "logins and per-gateway ACL from an auth file.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="listen address (default %(default)s: all IPv4 interfaces; '::' adds IPv6)",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port, 0 = any free")
    parser.add_argument("--auth", required=True, metavar="FILE", help="broker-auth.json to use")
    parser.add_argument(
        "--max-queued",
        type=int,
        default=DEFAULT_MAX_QUEUED,
        metavar="N",
        help="per-client bound on messages waiting for delivery (default %(default)s)",
    )
    parser.add_argument(
        "--max-packet",
        type=int,
        default=DEFAULT_MAX_PACKET,
        metavar="BYTES",
        help="largest packet a client may send; a bigger one closes its connection "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--stall-timeout",
        type=float,
        default=DEFAULT_STALL_TIMEOUT,
        metavar="S",
        help="disconnect a device session that stays over its queue bound this long "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--idle-takeover",
        type=float,
        default=DEFAULT_IDLE_TAKEOVER,
        metavar="S",
        help="silence after which another login may take over a connected client id "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--parent-pid", type=int, default=None, help=argparse.SUPPRESS
    )  # set by BrokerProcess: exit when that process is gone
    parser.set_defaults(func=run_broker)


def run_broker(args: argparse.Namespace) -> int:
    """Run the broker until SIGTERM/SIGINT; return the exit status (2 on bad auth file)."""
    import broker
    from broker.auth import AuthFileError
    from broker.process import print_event
    from broker.server import BrokerError

    if args.verbose <= 0:
        logging.getLogger("broker").setLevel(logging.INFO)
    try:
        broker.run(
            args.host,
            args.port,
            args.auth,
            max_queued_messages=args.max_queued,
            max_packet_size=args.max_packet,
            stall_timeout=args.stall_timeout,
            idle_takeover=args.idle_takeover,
            parent_pid=args.parent_pid,
            on_ready=broker.print_ready,
            on_event=print_event,
        )
    except AuthFileError as exc:
        log.error("cannot start the broker: %s", exc)
        return 2
    except (BrokerError, OSError) as exc:
        log.error("cannot start the broker on %s:%s: %s", args.host, args.port, exc)
        return 2
    return 0

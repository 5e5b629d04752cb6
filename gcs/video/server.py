"""The station's media server, run as a child process (`gcs media`): RTMP ingest and MPEG-TS
playback over HTTP, on FFmpeg's own libraries (`gcs.video.ffmpeg`, the LGPL build Qt ships; no
home-made RTMP: FFmpeg's own RTMP server, its FLV demuxer and MPEG-TS muxer; packets are copied,
never re-encoded).

Theory of operation. The parent (`gcs.video.process.MediaProcess`) writes one JSON object per
line on our standard input — `{"op": "add", "name", "secret", "token"}` (a push to accept),
`{"op": "pull", "name", "url", "token"}` (a source to read, e.g. an RC's RTSP server) /
`{"op": "remove", "name"}` — and reads one per line from our standard output:
`{"event": "ready"}`, then `publishing`, `unpublished`, `refused` and `pull_failed` (with
`message`) and `viewers` (with `n`). Standard input
closing means the parent is gone: we exit.

RTMP: one listening port, ours. Each device connection gets a fresh FFmpeg RTMP listener (listen
mode accepts one connection per open) on a loopback port of its own, and the device's bytes
are passed through to it unchanged, so any number of devices may connect at once. FFmpeg is told
to expect a name no device can know, so it logs the name the device actually publishes
("Unexpected stream NAME?secret=S, expecting …"); the ingest thread reads it from that log
record (matched by thread) and accepts the push only if NAME is an added stream and S its
secret; anything else is closed and reported as `refused`.

WHIP (url_type 4): `POST /rtc/v1/whip/?app=live&stream=NAME&secret=S` on the HTTP port, an SDP
offer in, `201 Created` with the answer and a session `Location` out (`gcs.video.whip`, aiortc);
the received H.264 goes into the same MPEG-TS output as an RTMP push.

Playback: `GET /live/NAME.ts?token=T` streams MPEG-TS from the next keyframe on (the muxer
writes PAT/PMT and the H.264 parameter sets at every keyframe, so a player can join any time).
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import re
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gcs.video import ffmpeg, stamp

log = logging.getLogger("gcs.video.server")

#: The name FFmpeg is told to expect; a device never publishes it.
SENTINEL = "gcs-expects-a-registered-stream"
_UNEXPECTED = re.compile(r"Unexpected stream (\S*), expecting")
#: The MPEG-TS muxer: every packet written at once, and each video PES with its length (issue 12),
#: so a player's demuxer hands a picture on when its last byte arrives instead of holding it until
#: the next picture starts (one frame of latency; pictures over 64 KB still wait).
TS_OPTIONS = {"flush_packets": "1", "omit_video_pes_length": "0"}
#: Chunks a slow viewer may lag behind before it is dropped.
VIEWER_QUEUE = 600
_STOP = None
_SECRETS = re.compile(r"\b(secret|token)=[^&\s\"]+")


def _pump(src: socket.socket, dst: socket.socket) -> None:
    """Copy bytes from `src` to `dst` until either side closes; then close both."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        src.close()
        dst.close()


def emit(event: str, **fields: Any) -> None:
    """One event line to the parent (stdout is the protocol; logs go to stderr)."""
    with _emit_lock:
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()


_emit_lock = threading.Lock()


@dataclass(eq=False)
class Viewer:
    chunks: queue.Queue[bytes | None] = field(default_factory=lambda: queue.Queue(VIEWER_QUEUE))
    started: bool = False


@dataclass(eq=False)
class Slot:
    """An added stream: its secrets, its publisher (if any) and its viewers."""

    name: str
    secret: str
    token: str
    viewers: list[Viewer] = field(default_factory=list)
    publishing: bool = False
    closed: threading.Event = field(default_factory=threading.Event)
    packets: int = 0

    def send(self, chunk: bytes, key: bool) -> None:
        for v in list(self.viewers):
            if not v.started:
                if not key:
                    continue
                v.started = True
            try:
                v.chunks.put_nowait(chunk)
            except queue.Full:  # a viewer that cannot keep up is dropped, the others go on
                self.drop(v)

    def drop(self, v: Viewer) -> None:
        if v in self.viewers:
            self.viewers.remove(v)
            emit("viewers", name=self.name, n=len(self.viewers))
        try:
            v.chunks.put_nowait(_STOP)
        except queue.Full:
            pass


class _Fanout:
    """What the MPEG-TS muxer writes into: each flush is one packet's TS bytes (a WHIP relay
    also writes through `write`)."""

    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        self.key = False

    def __call__(self, data: bytes) -> None:
        self.slot.send(data, self.key)

    def write(self, data: bytes) -> int:
        self.slot.send(bytes(data), self.key)
        return len(data)

    def flush(self) -> None:
        pass


_libav_log = logging.getLogger("libav")


def _on_ffmpeg_log(server: MediaServer, level: int, text: str) -> None:
    """FFmpeg's warnings and errors: logged; the published name is read out of the RTMP
    server's "Unexpected stream" warning, for the thread that logged it."""
    m = _UNEXPECTED.search(text)
    if m:
        server.published_name(threading.get_ident(), m.group(1))
    _libav_log.log(
        logging.ERROR if level < ffmpeg.LOG_WARNING else logging.WARNING,
        "%s",
        _SECRETS.sub(r"\1=***", text),
    )


class MediaServer:
    def __init__(self, host: str, rtmp_port: int, http_port: int) -> None:
        self.host = host
        self.rtmp_port = rtmp_port
        self.http_port = http_port
        self.slots: dict[str, Slot] = {}
        self._lock = threading.Lock()
        self._names: dict[int, str] = {}  # ingest thread id → published name
        self._whip: Any = None  # gcs.video.whip.WhipIngest, made on the first WHIP request

    @property
    def whip(self) -> Any:
        if self._whip is None:
            from gcs.video.whip import WhipIngest

            self._whip = WhipIngest(self)
        return self._whip

    # -- control -----------------------------------------------------------------------------

    def add(self, name: str, secret: str, token: str) -> None:
        with self._lock:
            old = self.slots.get(name)
            if old is not None and old.secret == secret:
                old.token = token
                return
            self.slots[name] = Slot(name, secret, token)
        if old is not None:
            self._close(old)

    def pull(self, name: str, url: str, token: str) -> None:
        """Read the stream from `url` (an RC's RTSP server, url_type 2) until removed; a source
        that drops is opened again."""
        slot = Slot(name, "", token)
        with self._lock:
            old = self.slots.get(name)
            self.slots[name] = slot
        if old is not None:
            self._close(old)
        threading.Thread(target=self._pull, args=(slot, url), name="pull", daemon=True).start()

    def _pull(self, slot: Slot, url: str) -> None:
        options = {"rtsp_transport": "tcp", "fflags": "nobuffer", "analyzeduration": "300000"}
        while not slot.closed.is_set():
            try:
                container = ffmpeg.Input(url, options, stop=slot.closed)
            except Exception as exc:
                emit("pull_failed", name=slot.name, message=f"cannot read {slot.name}: {exc}")
                slot.closed.wait(2.0)
                continue
            try:
                if container.video is not None:
                    self._relay(container, slot, "pull")
            finally:
                container.close()
            slot.closed.wait(1.0)

    def remove(self, name: str) -> None:
        with self._lock:
            slot = self.slots.pop(name, None)
        if slot is not None:
            self._close(slot)
            if self._whip is not None:
                self._whip.end_stream(name)

    def _close(self, slot: Slot) -> None:
        slot.closed.set()
        for v in list(slot.viewers):
            slot.drop(v)

    # -- RTMP ingest -------------------------------------------------------------------------

    def published_name(self, thread_id: int, name: str) -> None:
        with self._lock:
            self._names.setdefault(thread_id, name)

    def start_rtmp(self) -> int:
        """Listen on the RTMP port (0: any free one); returns it. Raises OSError."""
        listener = socket.create_server((self.host, self.rtmp_port), backlog=64)
        self.rtmp_port = int(listener.getsockname()[1])
        threading.Thread(
            target=self._accept_loop, args=(listener,), name="rtmp-accept", daemon=True
        ).start()
        return self.rtmp_port

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            client, peer = listener.accept()
            threading.Thread(
                target=self._connection, args=(client, peer), name="rtmp-conn", daemon=True
            ).start()

    def _connection(self, client: socket.socket, peer: Any) -> None:
        """One device connection: a fresh FFmpeg RTMP listener on a loopback port of its own,
        the device's bytes passed through to it unchanged (so devices may connect at once)."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        ingest = threading.Thread(target=self._ingest, args=(port,), name="rtmp-ingest")
        ingest.daemon = True
        ingest.start()
        upstream: socket.socket | None = None
        deadline = time.monotonic() + 5.0
        while upstream is None and time.monotonic() < deadline and ingest.is_alive():
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=1.0)
            except OSError:
                time.sleep(0.005)
        if upstream is None:
            log.warning("rtmp: no FFmpeg listener for %s", peer)
            client.close()
            return
        upstream.settimeout(None)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join(5.0)

    def _ingest(self, port: int) -> None:
        me = threading.get_ident()
        options = {
            "listen": "1",
            "fflags": "nobuffer",
            "analyzeduration": "300000",
            "probesize": "65536",
        }
        container: ffmpeg.Input | None = None
        try:
            container = ffmpeg.Input(f"rtmp://127.0.0.1:{port}/live/{SENTINEL}", options)
        except Exception as exc:  # a connection that broke before its stream was known
            log.info("rtmp: a connection ended before publishing: %s", exc)
        with self._lock:
            published = self._names.pop(me, None)
        if container is None:
            return
        try:
            self._serve(container, published)
        finally:
            container.close()

    def _serve(self, container: ffmpeg.Input, published: str | None) -> None:
        name, _, query = (published or "").partition("?")
        secret = parse_qs(query).get("secret", [""])[0]
        with self._lock:
            slot = self.slots.get(name)
        if slot is None or not slot.secret or not secrets.compare_digest(slot.secret, secret):
            why = "unknown stream" if slot is None else "wrong secret"
            log.warning("rtmp: push to %r refused: %s", name, why)
            emit("refused", name=name, message=f"RTMP push to {name!r} refused: {why}")
            return
        if slot.publishing:
            emit("refused", name=name, message=f"RTMP push to {name!r} refused: already pushed")
            return
        if container.video is None:
            emit("refused", name=name, message=f"RTMP push to {name!r} has no video")
            return
        self._relay(container, slot, "rtmp")

    def _relay(self, container: ffmpeg.Input, slot: Slot, how: str) -> None:
        """Copy the container's video packets to the slot's viewers as MPEG-TS."""
        name = slot.name
        slot.publishing = True
        emit("publishing", name=name)
        log.info("%s: %s publishing", how, name)
        vs = container.video
        assert vs is not None
        fan = _Fanout(slot)
        out = ffmpeg.Output(fan, "mpegts", TS_OPTIONS)
        try:
            index = out.add_stream_from(vs)
            # issue 12: each H.264 packet carries its arrival time, for the latency shown
            nal_size = stamp.nal_length_size(vs.extradata)
            stamping = vs.codec == "h264"
            for packet in container.packets(vs):
                if slot.closed.is_set():
                    break
                if packet.dts is None:
                    continue
                if stamping:
                    packet = stamp.stamp_packet(packet, nal_size, time.time())
                fan.key = packet.is_keyframe
                out.mux(packet, index)
                slot.packets += 1
        except Exception as exc:  # a broken or corrupt push ends this stream only
            log.warning("%s: %s ended: %s", how, name, exc)
        finally:
            slot.publishing = False
            try:
                out.close()
            except Exception as exc:
                log.info("%s: closing the TS muxer of %s: %s", how, name, exc)
            emit("unpublished", name=name)
            for v in list(slot.viewers):
                slot.drop(v)

    # -- HTTP playback -----------------------------------------------------------------------

    def start_http(self) -> ThreadingHTTPServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, fmt: str, *args: Any) -> None:
                # stream secrets and playback tokens stay out of the log
                log.info("http: %s", _SECRETS.sub(r"\1=***", fmt % args))

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                m = re.fullmatch(r"/live/([\w.-]+)\.ts", parts.path)
                token = parse_qs(parts.query).get("token", [""])[0]
                slot = server.slots.get(m.group(1)) if m else None
                if slot is None or not secrets.compare_digest(slot.token, token):
                    self.send_error(404, "no such stream")
                    return
                viewer = Viewer()
                slot.viewers.append(viewer)
                emit("viewers", name=slot.name, n=len(slot.viewers))
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                try:
                    while True:
                        try:
                            chunk = viewer.chunks.get(timeout=30)
                        except queue.Empty:
                            break
                        if chunk is None:
                            break
                        self.wfile.write(chunk)
                except OSError:
                    pass
                finally:
                    slot.drop(viewer)

            def do_POST(self) -> None:
                server.whip_offer(self)

            def do_DELETE(self) -> None:
                server.whip_delete(self)

        httpd = ThreadingHTTPServer((self.host, self.http_port), Handler)
        httpd.daemon_threads = True
        self.http_port = int(httpd.server_address[1])
        threading.Thread(target=httpd.serve_forever, name="http", daemon=True).start()
        return httpd

    # -- WHIP (gcs.video.whip) -----------------------------------------------------------------

    def whip_offer(self, request: BaseHTTPRequestHandler) -> None:
        """`POST /rtc/v1/whip/?app=live&stream=NAME&secret=S` (or `Authorization: Bearer S`)."""
        from gcs.video.whip import MAX_OFFER, SESSION_PATH, WHIP_PATH, WhipError

        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        name = query.get("stream", [""])[0]
        secret = query.get("secret", [""])[0]
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            secret = auth[7:].strip()
        try:
            if parts.path.rstrip("/") != WHIP_PATH.rstrip("/") or not name:
                raise WhipError(404, f"no WHIP endpoint at {parts.path}")
            ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype != "application/sdp":
                raise WhipError(415, "a WHIP offer is sent as application/sdp")
            length = int(request.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_OFFER:
                raise WhipError(400, f"a WHIP offer of {length} bytes is not accepted")
            sdp = request.rfile.read(length).decode("utf-8", "replace")
            answer, session = self.whip.offer(name, secret, sdp)
        except (WhipError, ValueError) as exc:
            status = exc.status if isinstance(exc, WhipError) else 400
            message = exc.message if isinstance(exc, WhipError) else f"bad WHIP request: {exc}"
            log.warning("whip: %s", message)
            if name:  # every refusal is an event the operator sees
                emit("refused", name=name, message=message)
            _plain(request, status, message)
            return
        body = answer.encode()
        request.send_response(201)
        request.send_header("Content-Type", "application/sdp")
        request.send_header("Location", SESSION_PATH + session)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def whip_delete(self, request: BaseHTTPRequestHandler) -> None:
        """`DELETE /rtc/v1/whip/session/ID`: the device ends its session."""
        from gcs.video.whip import SESSION_PATH

        path = urlsplit(request.path).path
        sid = path[len(SESSION_PATH) :] if path.startswith(SESSION_PATH) else ""
        if sid and self._whip is not None and self._whip.end(sid):
            _plain(request, 200, "session ended")
        else:
            _plain(request, 404, "no such WHIP session")


def _plain(request: BaseHTTPRequestHandler, status: int, text: str) -> None:
    body = (text + "\n").encode()
    request.send_response(status)
    request.send_header("Content-Type", "text/plain; charset=utf-8")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def run(host: str, rtmp_port: int, http_port: int) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    try:
        engine = ffmpeg.engine()
    except ffmpeg.Unavailable as exc:
        emit("failed", message=str(exc))
        return 2
    server = MediaServer(host, rtmp_port, http_port)
    # every message at once, on the thread that logged it (the published name is read there)
    engine.set_log_handler(lambda level, text: _on_ffmpeg_log(server, level, text))
    try:
        server.start_http()
    except OSError as exc:
        emit("failed", message=f"cannot listen on HTTP port {http_port}: {exc.strerror or exc}")
        return 2
    try:
        server.start_rtmp()
    except OSError as exc:
        emit("failed", message=f"cannot listen on RTMP port {rtmp_port}: {exc.strerror or exc}")
        return 2
    from gcs.video.whip import unavailable

    whip_missing = unavailable()
    emit(
        "ready",
        rtmp_port=server.rtmp_port,
        http_port=server.http_port,
        whip=whip_missing is None,
        whip_message=whip_missing or "",
    )
    for line in sys.stdin:
        try:
            op = json.loads(line)
            if op.get("op") == "add":
                server.add(str(op["name"]), str(op["secret"]), str(op["token"]))
            elif op.get("op") == "pull":
                server.pull(str(op["name"]), str(op["url"]), str(op["token"]))
            elif op.get("op") == "remove":
                server.remove(str(op["name"]))
        except (ValueError, KeyError, AttributeError) as exc:
            log.warning("bad control line %r: %s", line[:200], exc)
    log.info("parent gone: exiting")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gcs media")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--rtmp-port", type=int, default=1935)
    p.add_argument("--http-port", type=int, default=8090)
    a = p.parse_args(argv)
    return run(a.host, a.rtmp_port, a.http_port)


if __name__ == "__main__":
    sys.exit(main())

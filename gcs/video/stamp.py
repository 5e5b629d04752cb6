"""The time a packet reached the media server, carried inside the H.264 stream.

The media server copies packets, it never re-encodes, so the only place to carry the arrival
time to a player is the stream itself: each packet gets one H.264 SEI message of type
"user data unregistered" (payload type 5: a 16-byte UUID of ours, then the arrival time in
microseconds since the epoch as 16 ASCII digits) in front of its NAL units. Decoders skip SEI
they do not know, so ffplay, VLC and recordings are unaffected; the station's decoder reads it
back (`arrival_time`) and shows the latency from arrival to screen.

The message has no zero bytes, so no emulation-prevention bytes are needed in either framing:
length-prefixed (AVCC, as FLV/RTMP carries H.264) or start codes (Annex B, as MPEG-TS does).
"""

from __future__ import annotations

from gcs.video import ffmpeg

#: Ours: chosen with no zero byte (see the module docstring).
UUID = bytes.fromhex("6763732d61727269a1b2c3d4e5f61728")
_NAL = 0x06  # SEI
_PAYLOAD_TYPE = 0x05  # user data unregistered
_DIGITS = 16
#: How far into a packet the SEI is looked for.
_SEARCH = 256


def sei(arrival_s: float) -> bytes:
    """The SEI NAL unit (without framing) carrying `arrival_s` (time.time())."""
    digits = f"{int(arrival_s * 1_000_000) % 10**_DIGITS:0{_DIGITS}d}".encode()
    payload = UUID + digits
    return bytes([_NAL, _PAYLOAD_TYPE, len(payload)]) + payload + b"\x80"


def nal_length_size(extradata: bytes | None) -> int:
    """The NAL length size of AVCC H.264 (1, 2 or 4), or 0 for Annex B (start codes)."""
    if extradata and len(extradata) > 4 and extradata[0] == 1:
        return (extradata[4] & 0x03) + 1
    return 0


def framed(arrival_s: float, length_size: int) -> bytes:
    """The SEI framed as the stream's other NAL units are (`nal_length_size`)."""
    nal = sei(arrival_s)
    if length_size == 0:
        return b"\x00\x00\x00\x01" + nal
    return len(nal).to_bytes(length_size, "big") + nal


def arrival_time(data: bytes | memoryview) -> float | None:
    """The arrival time (time.time()) stamped into a packet, or None if it has none."""
    head = bytes(data[:_SEARCH])
    at = head.find(UUID)
    if at < 0:
        return None
    digits = head[at + len(UUID) : at + len(UUID) + _DIGITS]
    if len(digits) != _DIGITS or not digits.isdigit():
        return None
    return int(digits) / 1_000_000


def stamp_packet(packet: ffmpeg.Packet, length_size: int, arrival_s: float) -> ffmpeg.Packet:
    """A copy of an H.264 packet with the SEI in front (timing and key flag kept)."""
    return ffmpeg.Packet.new(framed(arrival_s, length_size) + bytes(packet), packet)

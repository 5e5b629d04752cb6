"""The video engine: FFmpeg's own libraries, the LGPL build that Qt ships, through ctypes.

Why not PyAV. PyPI's PyAV wheels carry an FFmpeg configured with `--enable-gpl` (libx264 and
libx265 inside), which a proprietary installer cannot ship. PySide6's wheel already carries an
FFmpeg of its own for QtMultimedia, configured without `--enable-gpl`/`--enable-nonfree`
(LGPL-2.1-or-later): RTMP (listen mode), RTSP, FLV, MPEG-TS, MP4, the native H.264/HEVC
decoders and swscale are all in it. This module binds the few functions the station needs
(demux, remux, decode to RGB, the log) so that the installers have live video with nothing
more to ship; the libraries stay separate, replaceable shared libraries (LGPL).

Theory of operation. `engine()` finds and loads the libraries once (PySide6's folder, or the
frozen bundle's), checks that their major versions are ones whose structure layouts this
module knows, and checks the layouts themselves through FFmpeg's option system (a value set by
name must be read back at the offset we use); anything unexpected makes the engine unavailable
with a reason (`Unavailable`), never a crash. Only fields at the front of FFmpeg's public
structures are read, and only those the option check or a known invariant covers.

`Input` opens a URL or file (with options and open/read time limits through FFmpeg's interrupt
callback, and a `stop` event that interrupts a blocking read) and yields `Packet`s; `Output`
muxes copied packets into a file or into a Python callable; `Decoder` turns H.264/HEVC packets
into RGB pictures. Everything here blocks: callers run it on threads of their own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Major versions whose structure layouts are known here (FFmpeg 7.1 … 9: the front fields used
#: have not moved since lavf 61 / lavc 61 / lavu 59).
FORMAT_MAJORS = range(61, 64)
CODEC_MAJORS = range(61, 64)
UTIL_MAJORS = range(59, 62)

NOPTS = -0x8000000000000000  # AV_NOPTS_VALUE
AV_TIME_BASE = 1_000_000
EAGAIN = -11 if sys.platform != "darwin" else -35
EOF_ERROR = -0x20464F45  # AVERROR_EOF: -MKTAG('E','O','F',' ')
EXIT_ERROR = -0x54495845  # AVERROR_EXIT: -MKTAG('E','X','I','T')
PKT_FLAG_KEY = 1
MEDIA_VIDEO = 0
CODEC_H264 = 27  # AV_CODEC_ID_H264
PIX_FMT_RGB24 = 2
SWS_BILINEAR = 2
AVIO_FLAG_WRITE = 2
LOG_ERROR = 16
LOG_WARNING = 24

# Structure offsets (64-bit; the option check in `_verify` proves them for the loaded build).
# AVFormatContext
FC_PB, FC_NB_STREAMS, FC_STREAMS, FC_URL = 32, 44, 48, 88
FC_DURATION, FC_PROBESIZE, FC_METADATA = 104, 136, 192
FC_START_REALTIME, FC_FPS_PROBE, FC_ERR_RECOGNITION, FC_INTERRUPT = 200, 208, 212, 216
# AVStream
ST_INDEX, ST_CODECPAR, ST_TIME_BASE, ST_DURATION = 8, 16, 32, 48
ST_DISPOSITION, ST_METADATA, ST_AVG_RATE = 64, 80, 88
# AVCodecParameters
CP_TYPE, CP_ID, CP_EXTRADATA, CP_EXTRADATA_SIZE, CP_BIT_RATE = 0, 4, 16, 24, 48
CP_WIDTH, CP_HEIGHT = 72, 76
# AVPacket
PK_PTS, PK_DTS, PK_DATA, PK_SIZE, PK_STREAM, PK_FLAGS, PK_DURATION = 8, 16, 24, 32, 36, 40, 64
# AVFrame
FR_DATA, FR_LINESIZE, FR_WIDTH, FR_HEIGHT, FR_FORMAT, FR_PTS = 0, 64, 104, 108, 116, 136
# AVIOContext
IO_BUFFER = 8
# AVCodec (name, long_name, type, id)
CODEC_ID = 20


class Unavailable(RuntimeError):
    """This installation has no usable video engine; the message says why, in words."""


class FFmpegError(RuntimeError):
    """An FFmpeg call failed; `code` is its AVERROR."""

    def __init__(self, code: int, what: str, text: str) -> None:
        super().__init__(f"{what}: {text}")
        self.code = code


_INTERRUPT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_WRITE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
_LOG = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


class _Rational(ctypes.Structure):
    _fields_ = [("num", ctypes.c_int), ("den", ctypes.c_int)]


class _InterruptCB(ctypes.Structure):
    _fields_ = [("callback", ctypes.c_void_p), ("opaque", ctypes.c_void_p)]

    def __init__(self, callback: Any, opaque: Any) -> None:
        super().__init__(ctypes.cast(callback, ctypes.c_void_p).value, opaque)


_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_I = ctypes.c_int
_I64 = ctypes.c_int64
_S = ctypes.c_char_p

#: name → (library, restype, argtypes)
_SIGNATURES: dict[str, tuple[str, Any, list[Any]]] = {
    "avutil_version": ("util", ctypes.c_uint, []),
    "avcodec_version": ("codec", ctypes.c_uint, []),
    "avformat_version": ("format", ctypes.c_uint, []),
    "avcodec_license": ("codec", _S, []),
    "avformat_license": ("format", _S, []),
    "av_strerror": ("util", _I, [_I, ctypes.c_char_p, ctypes.c_size_t]),
    "av_malloc": ("util", _P, [ctypes.c_size_t]),
    "av_mallocz": ("util", _P, [ctypes.c_size_t]),
    "av_free": ("util", None, [_P]),
    "av_freep": ("util", None, [_P]),
    "av_dict_set": ("util", _I, [_PP, _S, _S, _I]),
    "av_dict_get": ("util", _P, [_P, _S, _P, _I]),
    "av_dict_free": ("util", None, [_PP]),
    "av_opt_set": ("util", _I, [_P, _S, _S, _I]),
    "av_opt_set_int": ("util", _I, [_P, _S, _I64, _I]),
    "av_log_set_callback": ("util", None, [_LOG]),
    "av_log_set_level": ("util", None, [_I]),
    "av_log_format_line2": ("util", _I, [_P, _I, _S, _P, ctypes.c_char_p, _I, ctypes.POINTER(_I)]),
    "av_frame_alloc": ("util", _P, []),
    "av_frame_free": ("util", None, [_PP]),
    "av_frame_unref": ("util", None, [_P]),
    "av_packet_alloc": ("codec", _P, []),
    "av_packet_free": ("codec", None, [_PP]),
    "av_packet_unref": ("codec", None, [_P]),
    "av_new_packet": ("codec", _I, [_P, _I]),
    "av_packet_copy_props": ("codec", _I, [_P, _P]),
    "av_packet_rescale_ts": ("codec", None, [_P, _Rational, _Rational]),
    "avcodec_get_name": ("codec", _S, [_I]),
    "avcodec_find_decoder": ("codec", _P, [_I]),
    "avcodec_find_decoder_by_name": ("codec", _P, [_S]),
    "avcodec_alloc_context3": ("codec", _P, [_P]),
    "avcodec_free_context": ("codec", None, [_PP]),
    "avcodec_parameters_to_context": ("codec", _I, [_P, _P]),
    "avcodec_parameters_copy": ("codec", _I, [_P, _P]),
    "avcodec_open2": ("codec", _I, [_P, _P, _PP]),
    "avcodec_send_packet": ("codec", _I, [_P, _P]),
    "avcodec_receive_frame": ("codec", _I, [_P, _P]),
    "avformat_network_init": ("format", _I, []),
    "avformat_alloc_context": ("format", _P, []),
    "av_find_input_format": ("format", _P, [_S]),
    "avformat_free_context": ("format", None, [_P]),
    "avformat_open_input": ("format", _I, [_PP, _S, _P, _PP]),
    "avformat_find_stream_info": ("format", _I, [_P, _PP]),
    "avformat_close_input": ("format", None, [_PP]),
    "av_read_frame": ("format", _I, [_P, _P]),
    "avformat_alloc_output_context2": ("format", _I, [_PP, _P, _S, _S]),
    "avformat_new_stream": ("format", _P, [_P, _P]),
    "avformat_write_header": ("format", _I, [_P, _PP]),
    "av_interleaved_write_frame": ("format", _I, [_P, _P]),
    "av_write_frame": ("format", _I, [_P, _P]),
    "av_write_trailer": ("format", _I, [_P]),
    "avio_open2": ("format", _I, [_PP, _S, _I, _P, _PP]),  # (…, AVIOInterruptCB *, …)
    "avio_closep": ("format", _I, [_PP]),
    "avio_alloc_context": ("format", _P, [_P, _I, _I, _P, _P, _WRITE, _P]),
    "avio_context_free": ("format", None, [_PP]),
    "avio_flush": ("format", None, [_P]),
    "sws_getContext": (
        "scale",
        _P,
        [_I, _I, _I, _I, _I, _I, _I, _P, _P, _P],
    ),
    "sws_freeContext": ("scale", None, [_P]),
    "sws_scale": ("scale", _I, [_P, _P, _P, _I, _I, _P, _P]),
}


class Engine:
    """The loaded libraries and their functions (`engine()` makes the one instance)."""

    def __init__(self, libs: dict[str, ctypes.CDLL], where: str) -> None:
        self.where = where
        self._libs = libs
        for name, (lib, restype, argtypes) in _SIGNATURES.items():
            fn = getattr(libs[lib], name)
            fn.restype, fn.argtypes = restype, argtypes
            setattr(self, name, fn)
        self.version = _version(self.avformat_version())
        #: FFmpeg's own statement of its licence ("LGPL version 2.1 or later" for Qt's build)
        self.licence = (self.avcodec_license() or b"").decode()
        self._log_cb: Any = None
        # FFmpeg's own messages go to stderr: errors only, unless a handler is set
        self.av_log_set_level(LOG_ERROR)
        self.avformat_network_init()

    def __getattr__(self, name: str) -> Any:  # the bound functions (set in __init__)
        raise AttributeError(name)

    def error_text(self, code: int) -> str:
        buf = ctypes.create_string_buffer(256)
        if self.av_strerror(code, buf, len(buf)) < 0:
            return f"FFmpeg error {code}"
        return buf.value.decode("utf-8", "replace")

    def check(self, code: int, what: str) -> int:
        if code < 0:
            raise FFmpegError(code, what, self.error_text(code))
        return code

    def set_log_handler(
        self, handler: Callable[[int, str], None], level: int = LOG_WARNING
    ) -> None:
        """FFmpeg's messages up to `level` go to `handler(level, text)`, called on the thread
        that logged (this is process-wide: only the media server process uses it)."""

        def on_log(avcl: int | None, lvl: int, fmt: bytes | None, vl: int | None) -> None:
            if lvl > level or fmt is None:
                return
            line = ctypes.create_string_buffer(1024)
            prefix = ctypes.c_int(1)
            self.av_log_format_line2(avcl, lvl, fmt, vl, line, len(line), ctypes.byref(prefix))
            text = line.value.decode("utf-8", "replace").strip()
            if text:
                handler(lvl, text)

        self._log_cb = _LOG(on_log)  # kept alive as long as FFmpeg may call it
        self.av_log_set_level(level)
        self.av_log_set_callback(self._log_cb)


_engine: Engine | None = None
_engine_error: str | None = None
_engine_lock = threading.Lock()


def engine() -> Engine:
    """The loaded engine. Raises Unavailable (with the reason) when there is none."""
    global _engine, _engine_error
    with _engine_lock:
        if _engine is None and _engine_error is None:
            try:
                _engine = _load()
            except Unavailable as exc:
                _engine_error = str(exc)
                log.warning("no video engine: %s", exc)
        if _engine is None:
            raise Unavailable(_engine_error or "no video engine")
        return _engine


def unavailable() -> str | None:
    """None when the video engine works, else why not (in words)."""
    try:
        engine()
    except Unavailable as exc:
        return str(exc)
    return None


def _version(v: int) -> tuple[int, int, int]:
    return (v >> 16, (v >> 8) & 0xFF, v & 0xFF)


def _search_dirs() -> list[Path]:
    dirs: list[Path] = []
    env = os.environ.get("GCS_FFMPEG_DIR")
    if env:
        dirs.append(Path(env))
    base = getattr(sys, "_MEIPASS", None)
    roots = [Path(base)] if base else []
    try:
        import PySide6

        roots.append(Path(PySide6.__file__).parent)
    except ImportError:
        pass
    for root in roots:
        for sub in ("", "PySide6", "PySide6/Qt/lib", "Qt/lib", "PySide6/Qt/Frameworks"):
            d = root / sub if sub else root
            if d.is_dir() and d not in dirs:
                dirs.append(d)
    return dirs


def _find(d: Path, stem: str) -> Path | None:
    """The newest `stem` library in `d` (libavformat.so.63, libavformat.63.dylib,
    avformat-63.dll)."""
    if sys.platform == "win32":
        hits = glob.glob(str(d / f"{stem}-*.dll"))
    elif sys.platform == "darwin":
        hits = glob.glob(str(d / f"lib{stem}.*.dylib"))
    else:
        hits = [h for h in glob.glob(str(d / f"lib{stem}.so.*")) if h.count(".so.") == 1]
        hits = [h for h in hits if h.rsplit(".so.", 1)[1].isdigit()]  # the soname link
    return Path(sorted(hits)[-1]) if hits else None


def _load() -> Engine:
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        raise Unavailable("the video engine needs a 64-bit build")
    if sys.platform.startswith("linux"):
        # Qt's FFmpeg takes TLS from the system's OpenSSL 3, which Qt itself loads at run time
        for name in ("crypto", "ssl"):
            found = ctypes.util.find_library(name)
            for candidate in ([found] if found else []) + [f"lib{name}.so.3"]:
                try:
                    ctypes.CDLL(candidate, mode=ctypes.RTLD_GLOBAL)
                    break
                except OSError:
                    continue
    problems: list[str] = []
    for d in _search_dirs():
        paths = {k: _find(d, k) for k in ("avutil", "swresample", "avcodec", "swscale", "avformat")}
        if any(p is None for p in paths.values()):
            continue
        if sys.platform == "win32":
            os.add_dll_directory(str(d))
        libs: dict[str, ctypes.CDLL] = {}
        try:
            for key, short in (
                ("avutil", "util"),
                ("swresample", "resample"),
                ("avcodec", "codec"),
                ("swscale", "scale"),
                ("avformat", "format"),
            ):
                libs[short] = ctypes.CDLL(str(paths[key]))
        except OSError as exc:
            problems.append(f"{d}: {exc}")
            continue
        try:
            eng = Engine(libs, str(d))
        except AttributeError as exc:
            problems.append(f"{d}: a function is missing ({exc})")
            continue
        _verify(eng)
        if ("GPL" in eng.licence and "LGPL" not in eng.licence) or "nonfree" in eng.licence:
            # a GPL or non-free FFmpeg placed beside Qt: the installers must never ship one
            log.warning("the FFmpeg in %s is %s, not LGPL", d, eng.licence)
        log.info("video engine: FFmpeg libavformat %s from %s", ".".join(map(str, eng.version)), d)
        return eng
    detail = "; ".join(problems) or "no FFmpeg libraries found beside Qt"
    raise Unavailable(f"this installation has no video engine ({detail})")


def _i32(addr: int) -> int:
    return ctypes.c_int32.from_address(addr).value


def _i64(addr: int) -> int:
    return ctypes.c_int64.from_address(addr).value


def _ptr(addr: int) -> int:
    return ctypes.c_void_p.from_address(addr).value or 0


def _verify(eng: Engine) -> None:
    """The versions are known ones and the structure offsets used here are those of the loaded
    build (values set through FFmpeg's option system, read back at our offsets)."""
    fmt, codec, util = (
        _version(eng.avformat_version())[0],
        _version(eng.avcodec_version())[0],
        _version(eng.avutil_version())[0],
    )
    if fmt not in FORMAT_MAJORS or codec not in CODEC_MAJORS or util not in UTIL_MAJORS:
        raise Unavailable(
            f"FFmpeg libavformat {fmt}/libavcodec {codec}/libavutil {util} is a version this "
            "station does not know"
        )
    ctx = eng.avformat_alloc_context()
    if not ctx:
        raise Unavailable("FFmpeg cannot allocate a context")
    try:
        checks = (
            ("probesize", 1234567, FC_PROBESIZE, _i64),
            ("fpsprobesize", 77, FC_FPS_PROBE, _i32),
            ("start_time_realtime", 98765, FC_START_REALTIME, _i64),
        )
        for option, value, offset, read in checks:
            if (
                eng.av_opt_set_int(ctx, option.encode(), value, 0) < 0
                or read(ctx + offset) != value
            ):
                raise Unavailable(f"FFmpeg's layout is not the one expected ({option})")
        if eng.av_opt_set(ctx, b"err_detect", b"crccheck+bitstream+buffer", 0) < 0:
            raise Unavailable("FFmpeg's layout is not the one expected (err_detect)")
        if _i32(ctx + FC_ERR_RECOGNITION) != 1 | 2 | 4:
            raise Unavailable("FFmpeg's layout is not the one expected (error_recognition)")
        if _ptr(ctx + FC_INTERRUPT) != 0 or _i32(ctx + FC_NB_STREAMS) != 0:
            raise Unavailable("FFmpeg's layout is not the one expected (interrupt_callback)")
        st = eng.avformat_new_stream(ctx, None)
        if not st or _i32(ctx + FC_NB_STREAMS) != 1 or _ptr(_ptr(ctx + FC_STREAMS)) != st:
            raise Unavailable("FFmpeg's layout is not the one expected (streams)")
        if _i32(st + ST_INDEX) != 0 or not _ptr(st + ST_CODECPAR):
            raise Unavailable("FFmpeg's layout is not the one expected (stream)")
        if eng.av_opt_set_int(st, b"disposition", 1, 0) < 0 or _i32(st + ST_DISPOSITION) != 1:
            raise Unavailable("FFmpeg's layout is not the one expected (disposition)")
    finally:
        eng.avformat_free_context(ctx)
    h264 = eng.avcodec_find_decoder_by_name(b"h264")
    if not h264 or _i32(h264 + CODEC_ID) != CODEC_H264:
        raise Unavailable("FFmpeg's layout is not the one expected (codec), or it lacks H.264")
    pkt = eng.av_packet_alloc()
    try:
        if eng.av_new_packet(pkt, 100) < 0 or _i32(pkt + PK_SIZE) != 100:
            raise Unavailable("FFmpeg's layout is not the one expected (packet)")
        if _i64(pkt + PK_PTS) != NOPTS or _i64(pkt + PK_DTS) != NOPTS or not _ptr(pkt + PK_DATA):
            raise Unavailable("FFmpeg's layout is not the one expected (packet times)")
    finally:
        eng.av_packet_free(ctypes.byref(ctypes.c_void_p(pkt)))


# -- dictionaries ------------------------------------------------------------------------------


def _dict(eng: Engine, options: dict[str, str] | None) -> ctypes.c_void_p:
    d = ctypes.c_void_p(None)
    for k, v in (options or {}).items():
        eng.check(eng.av_dict_set(ctypes.byref(d), k.encode(), str(v).encode(), 0), f"option {k}")
    return d


def _dict_items(eng: Engine, d: int) -> dict[str, str]:
    out: dict[str, str] = {}
    entry = 0
    while d:
        entry = eng.av_dict_get(d, b"", entry or None, 2)  # AV_DICT_IGNORE_SUFFIX
        if not entry:
            break
        key = ctypes.c_char_p(_ptr(entry)).value or b""
        value = ctypes.c_char_p(_ptr(entry + 8)).value or b""
        out[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return out


# -- packets -----------------------------------------------------------------------------------


class Packet:
    """One compressed packet (owned: freed when garbage-collected or `free()`d)."""

    __slots__ = ("_eng", "ptr", "time_base")

    def __init__(self, eng: Engine, ptr: int, time_base: Fraction) -> None:
        self._eng = eng
        self.ptr = ptr
        self.time_base = time_base

    @classmethod
    def new(
        cls,
        data: bytes,
        like: Packet | None = None,
        *,
        time_base: Fraction | None = None,
        pts: int | None = None,
        key: bool = False,
    ) -> Packet:
        """A packet holding `data`, with the timing and flags of `like`, or else timed `pts`
        (decoding time the same) in `time_base`."""
        eng = engine()
        ptr = eng.av_packet_alloc()
        if not ptr:
            raise MemoryError("av_packet_alloc")
        base = like.time_base if like else (time_base or Fraction(1, 1000))
        pkt = cls(eng, ptr, base)
        eng.check(eng.av_new_packet(ptr, len(data)), "av_new_packet")  # resets the props
        ctypes.memmove(_ptr(ptr + PK_DATA), data, len(data))
        if like is not None:
            eng.check(eng.av_packet_copy_props(ptr, like.ptr), "av_packet_copy_props")
            ctypes.c_int32.from_address(ptr + PK_STREAM).value = like.stream_index
        else:
            pkt.pts = pkt.dts = pts
            ctypes.c_int32.from_address(ptr + PK_FLAGS).value = PKT_FLAG_KEY if key else 0
        return pkt

    def free(self) -> None:
        if self.ptr:
            self._eng.av_packet_free(ctypes.byref(ctypes.c_void_p(self.ptr)))
            self.ptr = 0

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:  # interpreter shutdown
            pass

    def _get64(self, off: int) -> int | None:
        v = _i64(self.ptr + off)
        return None if v == NOPTS else v

    def _set64(self, off: int, v: int | None) -> None:
        ctypes.c_int64.from_address(self.ptr + off).value = NOPTS if v is None else v

    @property
    def pts(self) -> int | None:
        return self._get64(PK_PTS)

    @pts.setter
    def pts(self, v: int | None) -> None:
        self._set64(PK_PTS, v)

    @property
    def dts(self) -> int | None:
        return self._get64(PK_DTS)

    @dts.setter
    def dts(self, v: int | None) -> None:
        self._set64(PK_DTS, v)

    @property
    def size(self) -> int:
        return _i32(self.ptr + PK_SIZE)

    @property
    def stream_index(self) -> int:
        return _i32(self.ptr + PK_STREAM)

    @stream_index.setter
    def stream_index(self, v: int) -> None:
        ctypes.c_int32.from_address(self.ptr + PK_STREAM).value = v

    @property
    def is_keyframe(self) -> bool:
        return bool(_i32(self.ptr + PK_FLAGS) & PKT_FLAG_KEY)

    def __bytes__(self) -> bytes:
        size = self.size
        return ctypes.string_at(_ptr(self.ptr + PK_DATA), size) if size else b""

    def head(self, n: int) -> bytes:
        """The first `n` bytes (or fewer)."""
        size = min(n, self.size)
        return ctypes.string_at(_ptr(self.ptr + PK_DATA), size) if size > 0 else b""


# -- streams -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stream:
    """What a container says about one of its streams (a snapshot, taken when opened)."""

    index: int
    ptr: int
    kind: str  # "video" | "audio" | "other"
    codec: str  # FFmpeg's codec name: "h264", "hevc", …
    codec_id: int
    width: int
    height: int
    time_base: Fraction
    duration: int | None  # in time_base
    extradata: bytes
    bit_rate: int
    average_rate: Fraction | None
    metadata: dict[str, str]

    @property
    def duration_s(self) -> float | None:
        return None if self.duration is None else float(self.duration * self.time_base)


def _rational(addr: int) -> Fraction | None:
    num, den = _i32(addr), _i32(addr + 4)
    return Fraction(num, den) if den else None


def _stream(eng: Engine, st: int) -> Stream:
    par = _ptr(st + ST_CODECPAR)
    ctype, cid = _i32(par + CP_TYPE), _i32(par + CP_ID)
    extra_size = _i32(par + CP_EXTRADATA_SIZE)
    extra = ctypes.string_at(_ptr(par + CP_EXTRADATA), extra_size) if extra_size > 0 else b""
    name = eng.avcodec_get_name(cid) or b""
    duration = _i64(st + ST_DURATION)
    return Stream(
        index=_i32(st + ST_INDEX),
        ptr=st,
        kind={0: "video", 1: "audio"}.get(ctype, "other"),
        codec=name.decode(),
        codec_id=cid,
        width=_i32(par + CP_WIDTH),
        height=_i32(par + CP_HEIGHT),
        time_base=_rational(st + ST_TIME_BASE) or Fraction(1, 90000),
        duration=None if duration == NOPTS or duration <= 0 else duration,
        extradata=extra,
        bit_rate=_i64(par + CP_BIT_RATE),
        average_rate=_rational(st + ST_AVG_RATE),
        metadata=_dict_items(eng, _ptr(st + ST_METADATA)),
    )


# -- input -------------------------------------------------------------------------------------


class _Deadline:
    """The interrupt callback's state: a blocking call gives up at `until` or when `stop` is
    set."""

    def __init__(self, stop: threading.Event | None) -> None:
        self.stop = stop
        self.until = float("inf")

    def __call__(self, _opaque: int | None) -> int:
        if self.stop is not None and self.stop.is_set():
            return 1
        return 1 if time.monotonic() > self.until else 0


class Input:
    """A demuxer over `url` (file path or URL). Raises FFmpegError or Unavailable."""

    def __init__(
        self,
        url: str,
        options: dict[str, str] | None = None,
        *,
        fmt: str | None = None,
        open_timeout: float = 10.0,
        read_timeout: float = 10.0,
        stop: threading.Event | None = None,
        find_info: bool = True,
    ) -> None:
        self._eng = eng = engine()
        self.url = url
        self.read_timeout = read_timeout
        self._deadline = _Deadline(stop)
        self._cb = _INTERRUPT(self._deadline)
        ctx = eng.avformat_alloc_context()
        if not ctx:
            raise MemoryError("avformat_alloc_context")
        ctypes.c_void_p.from_address(ctx + FC_INTERRUPT).value = ctypes.cast(
            self._cb, ctypes.c_void_p
        ).value
        self._ctx = ctypes.c_void_p(ctx)
        opts = _dict(eng, options)
        infmt = None
        if fmt:
            infmt = eng.av_find_input_format(fmt.encode())
            if not infmt:
                raise FFmpegError(-1, "opening", f"no {fmt} demuxer")
        self._deadline.until = time.monotonic() + open_timeout
        try:
            # on failure FFmpeg frees the context and sets our pointer to NULL
            eng.check(
                eng.avformat_open_input(
                    ctypes.byref(self._ctx), url.encode(), infmt, ctypes.byref(opts)
                ),
                f"cannot open {_safe(url)}",
            )
            if find_info:
                eng.check(eng.avformat_find_stream_info(self._ctx, None), "reading the streams")
        except BaseException:
            self.close()
            raise
        finally:
            eng.av_dict_free(ctypes.byref(opts))
            self._deadline.until = float("inf")
        ctx = self._ctx.value or 0
        self.streams = [
            _stream(eng, _ptr(_ptr(ctx + FC_STREAMS) + 8 * i))
            for i in range(_i32(ctx + FC_NB_STREAMS))
        ]
        duration = _i64(ctx + FC_DURATION)
        self.duration_s = (
            None if duration in (NOPTS, 0) or duration < 0 else duration / AV_TIME_BASE
        )
        self.metadata = _dict_items(eng, _ptr(ctx + FC_METADATA))

    @property
    def video(self) -> Stream | None:
        """The first video stream, if any."""
        return next((s for s in self.streams if s.kind == "video"), None)

    def packets(self, stream: Stream | None = None) -> Iterator[Packet]:
        """Packets (of `stream` only, if given) until the end, a read timeout or a stop.
        Raises FFmpegError for a broken input (end of file and stop end quietly)."""
        eng = self._eng
        bases = {s.index: s.time_base for s in self.streams}
        while self._ctx.value:
            ptr = eng.av_packet_alloc()
            if not ptr:
                raise MemoryError("av_packet_alloc")
            self._deadline.until = time.monotonic() + self.read_timeout
            ret = eng.av_read_frame(self._ctx, ptr)
            self._deadline.until = float("inf")
            if ret < 0:
                eng.av_packet_free(ctypes.byref(ctypes.c_void_p(ptr)))
                if ret == EOF_ERROR:
                    return
                if (
                    ret == EXIT_ERROR
                    and self._deadline.stop is not None
                    and self._deadline.stop.is_set()
                ):
                    return
                if ret == EXIT_ERROR:
                    raise FFmpegError(ret, f"reading {_safe(self.url)}", "no data in time")
                eng.check(ret, f"reading {_safe(self.url)}")
            idx = _i32(ptr + PK_STREAM)
            pkt = Packet(eng, ptr, bases.get(idx, Fraction(1, 90000)))
            if stream is not None and idx != stream.index:
                pkt.free()
                continue
            yield pkt

    def close(self) -> None:
        if self._ctx.value:
            self._eng.avformat_close_input(ctypes.byref(self._ctx))

    def __enter__(self) -> Input:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _safe(url: str) -> str:
    """A URL for a message: its query (secrets, tokens, signatures) left out."""
    return url.split("?", 1)[0]


# -- output ------------------------------------------------------------------------------------


class Output:
    """A muxer writing `fmt` into the file `target` or, for a callable, into it (each write a
    bytes chunk). Streams are copies of input streams (`add_stream_from`); the header is written
    with the first packet; `close()` writes the trailer."""

    def __init__(
        self,
        target: str | Path | Callable[[bytes], None],
        fmt: str,
        options: dict[str, str] | None = None,
        *,
        io_options: dict[str, str] | None = None,
        open_timeout: float = 10.0,
        stop: threading.Event | None = None,
    ) -> None:
        """`io_options` and `open_timeout` are for a URL (e.g. `rw_timeout` for RTMP); a set
        `stop` interrupts a blocking connect or write."""
        self._eng = eng = engine()
        self._deadline = _Deadline(stop)
        self._cb = _INTERRUPT(self._deadline)
        self._interrupt = _InterruptCB(self._cb, None)
        self._options = dict(options or {})
        self._ctx = ctypes.c_void_p(None)
        self._closed = False
        name = str(target).encode() if not callable(target) else None
        eng.check(
            eng.avformat_alloc_output_context2(ctypes.byref(self._ctx), None, fmt.encode(), name),
            f"cannot make a {fmt} muxer",
        )
        self._sink = target if callable(target) else None
        self._write_cb: Any = None
        self._pb = ctypes.c_void_p(None)
        self._custom = False
        self._tb: dict[int, tuple[Fraction, Any]] = {}  # out index → (input time base, out st)
        self._header = False
        if self._sink is not None:
            sink = self._sink

            def on_write(_opaque: int | None, buf: int | None, size: int) -> int:
                try:
                    sink(ctypes.string_at(buf or 0, size))
                except Exception as exc:  # the consumer failed: the muxer stops with an error
                    log.info("muxer output refused: %s", exc)
                    return -5  # AVERROR(EIO)
                return size

            self._write_cb = _WRITE(on_write)
            size = 32768
            buf = eng.av_malloc(size)
            pb = eng.avio_alloc_context(buf, size, 1, None, None, self._write_cb, None)
            if not pb:
                raise MemoryError("avio_alloc_context")
            self._pb = ctypes.c_void_p(pb)
            self._custom = True
        else:
            io = _dict(eng, io_options)
            self._deadline.until = time.monotonic() + open_timeout
            try:
                eng.check(
                    eng.avio_open2(
                        ctypes.byref(self._pb),
                        name,
                        AVIO_FLAG_WRITE,
                        ctypes.byref(self._interrupt),
                        ctypes.byref(io),
                    ),
                    f"cannot write {_safe(str(target))}",
                )
            except BaseException:
                eng.avformat_free_context(self._ctx)
                self._ctx = ctypes.c_void_p(None)
                self._closed = True
                raise
            finally:
                eng.av_dict_free(ctypes.byref(io))
                self._deadline.until = float("inf")
        ctx = self._ctx.value or 0
        ctypes.c_void_p.from_address(ctx + FC_PB).value = self._pb.value
        ctypes.c_void_p.from_address(ctx + FC_INTERRUPT).value = ctypes.cast(
            self._cb, ctypes.c_void_p
        ).value

    def add_video_stream(
        self, codec: str, width: int, height: int, extradata: bytes, time_base: Fraction
    ) -> int:
        """A video stream described by hand (the packets come from an encoder of ours):
        `codec` is FFmpeg's decoder name ("h264"). Returns its index."""
        eng = self._eng
        dec = eng.avcodec_find_decoder_by_name(codec.encode())
        if not dec:
            raise FFmpegError(-1, "a stream", f"FFmpeg does not know the codec {codec}")
        st = eng.avformat_new_stream(self._ctx, None)
        if not st:
            raise MemoryError("avformat_new_stream")
        par = _ptr(st + ST_CODECPAR)
        ctypes.c_int32.from_address(par + CP_TYPE).value = MEDIA_VIDEO
        ctypes.c_int32.from_address(par + CP_ID).value = _i32(dec + CODEC_ID)
        ctypes.c_int32.from_address(par + CP_WIDTH).value = width
        ctypes.c_int32.from_address(par + CP_HEIGHT).value = height
        if extradata:
            buf = eng.av_mallocz(len(extradata) + 64)  # AV_INPUT_BUFFER_PADDING_SIZE
            if not buf:
                raise MemoryError("av_mallocz")
            ctypes.memmove(buf, extradata, len(extradata))
            ctypes.c_void_p.from_address(par + CP_EXTRADATA).value = buf
            ctypes.c_int32.from_address(par + CP_EXTRADATA_SIZE).value = len(extradata)
        ctypes.c_int32.from_address(st + ST_TIME_BASE).value = time_base.numerator
        ctypes.c_int32.from_address(st + ST_TIME_BASE + 4).value = time_base.denominator
        index = _i32(st + ST_INDEX)
        self._tb[index] = (time_base, st)
        return index

    def add_stream_from(self, stream: Stream) -> int:
        """A stream copying `stream`'s codec parameters; returns its index."""
        eng = self._eng
        st = eng.avformat_new_stream(self._ctx, None)
        if not st:
            raise MemoryError("avformat_new_stream")
        eng.check(
            eng.avcodec_parameters_copy(_ptr(st + ST_CODECPAR), _ptr(stream.ptr + ST_CODECPAR)),
            "copying the stream parameters",
        )
        ctypes.c_uint32.from_address(_ptr(st + ST_CODECPAR) + 8).value = 0  # codec_tag: the muxer's
        tb = stream.time_base
        ctypes.c_int32.from_address(st + ST_TIME_BASE).value = tb.numerator
        ctypes.c_int32.from_address(st + ST_TIME_BASE + 4).value = tb.denominator
        index = _i32(st + ST_INDEX)
        self._tb[index] = (tb, st)
        return index

    def _write_header(self) -> None:
        opts = _dict(self._eng, self._options)
        try:
            self._eng.check(
                self._eng.avformat_write_header(self._ctx, ctypes.byref(opts)), "writing the header"
            )
        finally:
            self._eng.av_dict_free(ctypes.byref(opts))
        self._header = True

    def mux(self, packet: Packet, index: int = 0, *, interleave: bool = False) -> None:
        """Write `packet` (timed in its own time base) as stream `index`. The packet is
        consumed (its data moves into the muxer)."""
        if not self._header:
            self._write_header()
        in_tb, st = self._tb[index]
        out_tb = _rational(st + ST_TIME_BASE) or in_tb
        packet.stream_index = index
        if in_tb != out_tb:
            self._eng.av_packet_rescale_ts(packet.ptr, _q(in_tb), _q(out_tb))
        write = self._eng.av_interleaved_write_frame if interleave else self._eng.av_write_frame
        try:
            self._eng.check(write(self._ctx, packet.ptr), "writing a packet")
        finally:
            self._eng.av_packet_unref(packet.ptr)

    def close(self) -> None:
        """Write the trailer (if the header was written) and free everything. Raises
        FFmpegError if the trailer could not be written (everything is freed anyway)."""
        if self._closed:
            return
        self._closed = True
        eng = self._eng
        err: FFmpegError | None = None
        try:
            if self._header:
                ret = eng.av_write_trailer(self._ctx)
                if ret < 0:
                    err = FFmpegError(ret, "writing the trailer", eng.error_text(ret))
        finally:
            if self._custom and self._pb.value:
                eng.avio_flush(self._pb)
                eng.av_freep(ctypes.c_void_p(self._pb.value + IO_BUFFER))
                eng.avio_context_free(ctypes.byref(self._pb))
            elif self._pb.value:
                eng.avio_closep(ctypes.byref(self._pb))
            if self._ctx.value:
                ctypes.c_void_p.from_address(self._ctx.value + FC_PB).value = None
                eng.avformat_free_context(self._ctx)
                self._ctx = ctypes.c_void_p(None)
        if err is not None:
            raise err

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _q(r: Fraction) -> _Rational:
    return _Rational(r.numerator, r.denominator)


# -- decoding ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Picture:
    """A decoded picture as packed RGB24 rows."""

    width: int
    height: int
    rgb: bytes
    pts: int | None

    def to_ndarray(self) -> Any:
        import numpy as np

        return np.frombuffer(self.rgb, np.uint8).reshape(self.height, self.width, 3)


class Decoder:
    """Decodes one video stream's packets into RGB pictures (slice threads only: frame
    threads would add a picture of latency per thread)."""

    def __init__(self, stream: Stream, *, threads: int = 2) -> None:
        self._eng = eng = engine()
        codec = eng.avcodec_find_decoder(stream.codec_id)
        if not codec:
            raise FFmpegError(-1, "decoding", f"no decoder for {stream.codec or 'this codec'}")
        self._ctx = ctypes.c_void_p(eng.avcodec_alloc_context3(codec))
        if not self._ctx.value:
            raise MemoryError("avcodec_alloc_context3")
        try:
            eng.check(
                eng.avcodec_parameters_to_context(self._ctx, _ptr(stream.ptr + ST_CODECPAR)),
                "the decoder's parameters",
            )
            eng.av_opt_set(self._ctx, b"thread_type", b"slice", 0)
            eng.av_opt_set_int(self._ctx, b"threads", threads, 0)
            eng.av_opt_set(self._ctx, b"flags", b"+low_delay", 0)
            eng.check(eng.avcodec_open2(self._ctx, codec, None), "opening the decoder")
        except BaseException:
            eng.avcodec_free_context(ctypes.byref(self._ctx))
            raise
        self._frame = ctypes.c_void_p(eng.av_frame_alloc())
        self._sws = 0
        self._sws_key: tuple[int, int, int] = (0, 0, -1)
        self.codec = stream.codec

    def decode(self, packet: Packet | None) -> list[Picture]:
        """The pictures `packet` completes (None flushes the decoder)."""
        eng = self._eng
        ret = eng.avcodec_send_packet(self._ctx, packet.ptr if packet is not None else None)
        if ret < 0 and ret not in (EAGAIN, EOF_ERROR):
            eng.check(ret, "decoding")
        out: list[Picture] = []
        while True:
            ret = eng.avcodec_receive_frame(self._ctx, self._frame)
            if ret in (EAGAIN, EOF_ERROR):
                return out
            eng.check(ret, "decoding")
            try:
                out.append(self._rgb(self._frame.value or 0))
            finally:
                eng.av_frame_unref(self._frame)

    def _rgb(self, frame: int) -> Picture:
        eng = self._eng
        w, h, fmt = _i32(frame + FR_WIDTH), _i32(frame + FR_HEIGHT), _i32(frame + FR_FORMAT)
        if (w, h, fmt) != self._sws_key:
            if self._sws:
                eng.sws_freeContext(self._sws)
            self._sws = eng.sws_getContext(
                w, h, fmt, w, h, PIX_FMT_RGB24, SWS_BILINEAR, None, None, None
            )
            if not self._sws:
                raise FFmpegError(-1, "converting a picture", f"pixel format {fmt} at {w}x{h}")
            self._sws_key = (w, h, fmt)
        stride = w * 3
        out = ctypes.create_string_buffer(stride * h + 64)
        dst = (ctypes.c_void_p * 4)(ctypes.addressof(out), None, None, None)
        dst_stride = (ctypes.c_int * 4)(stride, 0, 0, 0)
        eng.sws_scale(self._sws, frame + FR_DATA, frame + FR_LINESIZE, 0, h, dst, dst_stride)
        pts = _i64(frame + FR_PTS)
        return Picture(w, h, out.raw[: stride * h], None if pts == NOPTS else pts)

    def close(self) -> None:
        eng = self._eng
        if self._sws:
            eng.sws_freeContext(self._sws)
            self._sws = 0
        if self._frame.value:
            eng.av_frame_free(ctypes.byref(self._frame))
        if self._ctx.value:
            eng.avcodec_free_context(ctypes.byref(self._ctx))

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

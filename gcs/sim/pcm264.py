"""A camera for the simulator when no H.264 encoder is installed: lossless H.264 from I_PCM
macroblocks, and only the macroblocks that changed.

Why. The installers carry Qt's LGPL FFmpeg, which decodes H.264 but cannot encode it (libx264
is GPL; THIRD-PARTY.md); the simulated cameras of `gcs demo` still have to push a real H.264
stream to the station. H.264's I_PCM macroblock carries its samples uncompressed, and a P slice
may skip every macroblock that did not change, so a test picture that is mostly still (a
background, a moving bar, the time band) costs a few dozen macroblocks a frame. The stream is
plain Baseline profile (CAVLC, one slice per picture, one reference frame, POC type 2, no
B-frames), which every decoder plays; being lossless, the sending time drawn into the picture
reads back exactly.

Theory of operation. `Encoder.encode(rgb)` converts the picture to YUV 4:2:0 (BT.601, limited
range; samples kept within 1..254 so no sample is ever zero), cuts it into 16x16 macroblocks of
384 bytes each, and writes either an IDR picture (every macroblock I_PCM) or a P picture
(`mb_skip_run` over unchanged macroblocks, I_PCM for the others). Access units are returned in
AVCC framing (4-byte lengths), with the `avcC` record in `extradata`, as FLV/RTMP carries them.
"""

from __future__ import annotations

import re
from typing import Any

#: Emulation prevention: 00 00 followed by 00..03 gets a 03 in between (H.264 7.4.1).
_EPB = re.compile(b"\x00\x00(?=[\x00-\x03])")
_LOG2_MAX_FRAME_NUM = 16


class _Bits:
    """An RBSP being written, most significant bit first."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0  # bits in acc (< 8)

    def u(self, bits: int, value: int) -> None:
        for i in range(bits - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                self.acc = self.n = 0

    def ue(self, value: int) -> None:
        v = value + 1
        length = v.bit_length()
        self.u(length - 1, 0)
        self.u(length, v)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        if self.n:
            self.u(8 - self.n, 0)

    def raw(self, data: bytes) -> None:
        assert self.n == 0
        self.out += data

    def trailing(self) -> bytes:
        self.u(1, 1)
        self.align_zero()
        return bytes(self.out)


def _nal(ref_idc: int, kind: int, rbsp: bytes) -> bytes:
    return bytes([(ref_idc << 5) | kind]) + _EPB.sub(b"\x00\x00\x03", rbsp)


class Encoder:
    """Pictures of `width`x`height` (RGB arrays) in, H.264 access units out; an IDR picture
    every `gop` pictures."""

    def __init__(self, width: int, height: int, gop: int = 30) -> None:
        if width % 2 or height % 2:
            raise ValueError("width and height must be even")
        self.width, self.height, self.gop = width, height, gop
        self.mbw, self.mbh = (width + 15) // 16, (height + 15) // 16
        self.n = 0
        self._idr_id = 0
        self._previous: Any = None
        self.sps = _nal(3, 7, self._sps())
        self.pps = _nal(3, 8, self._pps())
        self.extradata = (
            bytes([1, self.sps[1], self.sps[2], self.sps[3], 0xFF, 0xE1])
            + len(self.sps).to_bytes(2, "big")
            + self.sps
            + b"\x01"
            + len(self.pps).to_bytes(2, "big")
            + self.pps
        )

    def _sps(self) -> bytes:
        b = _Bits()
        b.u(8, 66)  # Baseline
        b.u(8, 0xC0)  # constraint_set0 and 1: Constrained Baseline
        b.u(8, 40)  # level 4.0
        b.ue(0)  # seq_parameter_set_id
        b.ue(_LOG2_MAX_FRAME_NUM - 4)
        b.ue(2)  # pic_order_cnt_type 2: output order is decoding order
        b.ue(1)  # max_num_ref_frames
        b.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
        b.ue(self.mbw - 1)
        b.ue(self.mbh - 1)
        b.u(1, 1)  # frame_mbs_only_flag
        b.u(1, 1)  # direct_8x8_inference_flag
        right, bottom = self.mbw * 16 - self.width, self.mbh * 16 - self.height
        b.u(1, 1 if right or bottom else 0)  # frame_cropping_flag
        if right or bottom:
            for offset in (0, right // 2, 0, bottom // 2):  # in chroma units (4:2:0)
                b.ue(offset)
        b.u(1, 0)  # vui_parameters_present_flag
        return b.trailing()

    def _pps(self) -> bytes:
        b = _Bits()
        b.ue(0)  # pic_parameter_set_id
        b.ue(0)  # seq_parameter_set_id
        b.u(1, 0)  # entropy_coding_mode_flag: CAVLC
        b.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
        b.ue(0)  # num_slice_groups_minus1
        b.ue(0)  # num_ref_idx_l0_default_active_minus1
        b.ue(0)  # num_ref_idx_l1_default_active_minus1
        b.u(1, 0)  # weighted_pred_flag
        b.u(2, 0)  # weighted_bipred_idc
        b.se(0)  # pic_init_qp_minus26
        b.se(0)  # pic_init_qs_minus26
        b.se(0)  # chroma_qp_index_offset
        b.u(1, 1)  # deblocking_filter_control_present_flag
        b.u(1, 0)  # constrained_intra_pred_flag
        b.u(1, 0)  # redundant_pic_cnt_present_flag
        return b.trailing()

    def macroblocks(self, rgb: Any) -> Any:
        """The picture's macroblocks as a (count, 384) array: 256 Y, 64 Cb, 64 Cr samples."""
        import numpy as np

        h, w = self.height, self.width
        if rgb.shape[:2] != (h, w):
            raise ValueError(f"a {w}x{h} picture was expected, not {rgb.shape[1]}x{rgb.shape[0]}")
        f = rgb.astype(np.int32)
        r, g, bl = f[:, :, 0], f[:, :, 1], f[:, :, 2]
        y = (66 * r + 129 * g + 25 * bl + 128 >> 8) + 16
        u = (-38 * r - 74 * g + 112 * bl + 128 >> 8) + 128
        v = (112 * r - 94 * g - 18 * bl + 128 >> 8) + 128
        ph, pw = self.mbh * 16, self.mbw * 16
        yp = np.zeros((ph, pw), np.int32)
        yp[:h, :w] = y
        yp[h:, :] = yp[h - 1 : h, :]
        yp[:, w:] = yp[:, w - 1 : w]

        def sub(c: Any) -> Any:
            cp = np.zeros((ph, pw), np.int32)
            cp[:h, :w] = c
            cp[h:, :] = cp[h - 1 : h, :]
            cp[:, w:] = cp[:, w - 1 : w]
            return (cp[0::2, 0::2] + cp[1::2, 0::2] + cp[0::2, 1::2] + cp[1::2, 1::2] + 2) >> 2

        def blocks(p: Any, size: int) -> Any:
            return p.reshape(self.mbh, size, self.mbw, size).swapaxes(1, 2).reshape(-1, size * size)

        planes = [blocks(yp, 16), blocks(sub(u), 8), blocks(sub(v), 8)]
        return np.clip(np.concatenate(planes, axis=1), 1, 254).astype(np.uint8)

    def encode(self, rgb: Any) -> tuple[bytes, bool]:
        """The next access unit (AVCC: 4-byte lengths) and whether it is a key frame (an IDR
        picture, with SPS and PPS in front)."""
        mbs = self.macroblocks(rgb)
        key = self.n % self.gop == 0 or self._previous is None
        frame_num = 0 if key else (self.n % self.gop) % (1 << _LOG2_MAX_FRAME_NUM)
        b = _Bits()
        b.ue(0)  # first_mb_in_slice
        b.ue(7 if key else 5)  # slice_type: I or P (every slice of the picture)
        b.ue(0)  # pic_parameter_set_id
        b.u(_LOG2_MAX_FRAME_NUM, frame_num)
        if key:
            b.ue(self._idr_id)
            self._idr_id = (self._idr_id + 1) % 65536
        else:
            b.u(1, 0)  # num_ref_idx_active_override_flag
            b.u(1, 0)  # ref_pic_list_modification_flag_l0
        if key:
            b.u(1, 0)  # no_output_of_prior_pics_flag
            b.u(1, 0)  # long_term_reference_flag
        else:
            b.u(1, 0)  # adaptive_ref_pic_marking_mode_flag
        b.se(0)  # slice_qp_delta
        b.ue(1)  # disable_deblocking_filter_idc: off (lossless pictures)
        if key:
            for i in range(len(mbs)):
                b.ue(25)  # mb_type I_PCM
                b.align_zero()
                b.raw(mbs[i].tobytes())
        else:
            changed = (mbs != self._previous).any(axis=1).nonzero()[0]
            last = -1
            for i in changed:
                b.ue(int(i) - last - 1)  # mb_skip_run
                b.ue(30)  # mb_type I_PCM in a P slice (5 + 25)
                b.align_zero()
                b.raw(mbs[i].tobytes())
                last = int(i)
            if last < len(mbs) - 1:
                b.ue(len(mbs) - 1 - last)
        self._previous = mbs
        self.n += 1
        slice_nal = _nal(3 if key else 2, 5 if key else 1, b.trailing())
        units = [self.sps, self.pps, slice_nal] if key else [slice_nal]
        return b"".join(len(u).to_bytes(4, "big") + u for u in units), key

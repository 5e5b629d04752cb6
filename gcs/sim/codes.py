"""Result codes the simulated devices answer with (protocol §11.1, DJI's error table)."""

from __future__ import annotations

from gcs.protocol.errors import DeviceCode

# An unknown `services` method or unreadable data: what a real device answers (DJI's
# "cloud command format invalid"). `StationCode.NOT_SUPPORTED` is the *station's* refusal
# code and would blame the wrong side if a device sent it (see gcs.protocol.errors).
NOT_SUPPORTED = int(DeviceCode.COMMAND_FORMAT_INVALID)

OK = 0
BAD_PARAMETERS = int(DeviceCode.COMMAND_FORMAT_INVALID)
DEVICE_STATE_FORBIDS = int(DeviceCode.STATE_NOT_ALLOWED)
NOT_IN_REMOTE_DEBUG = int(DeviceCode.NOT_IN_REMOTE_DEBUG)
IN_REMOTE_DEBUG = 514146  # dock in remote debugging; cannot run a flight task
DOCK_WORKING = 514148  # dock already working; no remote debugging or second task
BATTERY_TOO_LOW = 316009  # aircraft battery below 30 %
CANNOT_PAUSE = 319046
RESUME_FAILED = 319042
AIRCRAFT_NOT_CONNECTED = 325012
LIVE_CAMERA_MISSING = 513002
LIVE_ALREADY = 513003
LIVE_BAD_QUALITY = 513005
LIVE_NOT_LIVE = 513011
LIVE_PROTOCOL_UNSUPPORTED = 513013
LIVE_BAD_PARAMETERS = 513014
WAYLINE_URL_EMPTY = 314001
WAYLINE_MD5_EMPTY = 314002
WAYLINE_MD5_MISMATCH = 314005
WAYLINE_FETCH_FAILED = 314013
USER_RTH = 322283  # wayline ended by the user's return-to-home (321000 + break reason 1283)

PROPERTY_OK = 0
PROPERTY_FAILED = 1

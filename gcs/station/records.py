"""The station's record types, as front ends see them (rows the station hands out).

Front ends (`gcs.ui`, `gcs.web`) may not import `gcs.store`; the rows and settings the station
returns to them are named here.
"""

from __future__ import annotations

from gcs.store.commands import CommandRow
from gcs.store.history import EventRow, Sample
from gcs.store.hms import AlarmQuery, AlarmRow
from gcs.store.settings import SETTINGS_FILE, Settings, default_data_dir
from gcs.store.users import UserRow

__all__ = [
    "SETTINGS_FILE",
    "AlarmQuery",
    "AlarmRow",
    "CommandRow",
    "EventRow",
    "Sample",
    "Settings",
    "UserRow",
    "default_data_dir",
]

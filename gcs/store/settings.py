"""The station's settings file, `gcs.toml` in the data directory.

On first start the file is generated with fresh secrets (device MQTT password, binding code,
workspace id, token secret) so that two stations never share credentials. Later starts read it
back; unknown keys are kept out of the typed view but never deleted from the file by a save that
only changes known keys. Every value can be changed by the operator (settings dialog, or by
editing the file while the station is stopped).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import string
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

SETTINGS_FILE = "gcs.toml"


def _password(n: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _binding_code() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


@dataclass
class StationSettings:
    workspace_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    workspace_name: str = "Default Workspace"
    workspace_desc: str = "Offline site"
    platform_name: str = "GCS Offline Cloud"
    binding_code: str = field(default_factory=_binding_code)
    host: str = "0.0.0.0"
    # Address given to devices; empty = the first LAN address of this machine.
    public_host: str = ""
    token_secret: str = field(default_factory=lambda: secrets.token_hex(32))


@dataclass
class MqttSettings:
    port: int = 1883
    # Credentials a dock installer types into Pilot's dock-access wizard.
    device_username: str = "dock"
    device_password: str = field(default_factory=_password)
    # mqtt://user:pass@host:port of an external broker; empty = embedded broker.
    external_url: str = ""
    # Bound on what the embedded broker queues for one slow subscriber (messages).
    max_queued_messages: int = 2000


@dataclass
class HttpSettings:
    port: int = 8080
    https_port: int = 8443


@dataclass
class NtpSettings:
    # 123 when the station can bind it; otherwise this fallback port.
    port: int = 123
    fallback_port: int = 11123


@dataclass
class DjiSettings:
    app_id: str = ""
    app_key: str = ""
    app_license: str = ""


@dataclass
class TelemetrySettings:
    offline_timeout_s: float = 60.0
    retention_days: float = 30.0
    # Minimum interval between two history rows of the same device.
    history_interval_s: float = 1.0
    # Size cap of the telemetry history in the database (MB); the oldest is removed first.
    history_max_mb: float = 2048.0


@dataclass
class StorageSettings:
    port: int = 9000
    bucket: str = "gcs"
    region: str = "us-east-1"
    max_object_bytes: int = 50 * 1024**3
    max_bucket_bytes: int = 0  # 0 = no limit beyond the disk
    sts_ttl_s: int = 3600
    access_key: str = field(default_factory=lambda: "GCS" + secrets.token_hex(8).upper())
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    # External S3/MinIO endpoint; empty = the embedded store.
    external_endpoint: str = ""
    external_access_key: str = ""
    external_secret_key: str = ""
    # Ask the external store for temporary credentials (MinIO/AWS AssumeRole); when false the
    # long-lived external keys themselves are handed to devices (only for stores without STS).
    external_assume_role: bool = True
    external_role_arn: str = ""  # AWS needs one; MinIO ignores it
    # Key from which the embedded store derives temporary secrets (never stored per credential).
    credential_key: str = field(default_factory=lambda: secrets.token_hex(32))
    # A put whose size is known is refused when it would leave less free disk than this.
    min_free_bytes: int = 256 * 1024**2


@dataclass
class PilotSettings:
    """What the station hands DJI Pilot 2 and its H5 pages."""

    # Created with this password on first start when the station has no user of that name.
    default_user: str = "pilot"
    default_password: str = field(default_factory=_password)
    # Lifetime of a Pilot access token (s); Pilot refreshes it through the H5 page.
    token_ttl_s: int = 86400
    # Prefix of the names of map elements Pilot creates (map module `elementPreName`).
    element_prefix: str = "PILOT"
    # Media module: auto-upload photos (type 0 original / 1 thumbnail) and videos.
    auto_upload_photo: bool = True
    auto_upload_photo_type: int = 1
    auto_upload_video: bool = True
    # Liveshare module: video-on-demand, video-by-manual or video-demand-aux-manual.
    liveshare_publish_type: str = "video-demand-aux-manual"
    # "Open third-party app": an Android package checked with platformIsAppInstalled and/or a
    # deep link (scheme://host...) opened with window.open.
    third_party_app_package: str = ""
    third_party_app_url: str = ""
    # Custom situational-awareness icons per device serial: {SN = {normal = URL, selected = URL}}
    # (http(s) image or resource://pilot/drawable/tsa_...); empty = Pilot picks by model.
    device_icons: dict[str, Any] = field(default_factory=dict)


@dataclass
class Settings:
    station: StationSettings = field(default_factory=StationSettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    ntp: NtpSettings = field(default_factory=NtpSettings)
    dji: DjiSettings = field(default_factory=DjiSettings)
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    pilot: PilotSettings = field(default_factory=PilotSettings)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class SettingsError(Exception):
    """gcs.toml cannot be read: the message says which file and what is wrong."""


def _merge(section: Any, values: dict[str, Any], where: str) -> None:
    for f in dataclasses.fields(section):
        if f.name not in values:
            continue
        current = getattr(section, f.name)
        value = values[f.name]
        if isinstance(current, bool) or not isinstance(value, type(current)):
            if isinstance(current, float) and isinstance(value, int):
                value = float(value)
            elif type(value) is not type(current):
                raise SettingsError(
                    f"{where}.{f.name} must be {type(current).__name__}, got {value!r}"
                )
        setattr(section, f.name, value)


def load_settings(data_dir: Path) -> Settings:
    """Read `gcs.toml` from `data_dir`, creating it (and the directory) on first start.

    Raises:
        SettingsError: the file exists but is not valid TOML or has a value of the wrong type.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SETTINGS_FILE
    settings = Settings()
    if not path.exists():
        save_settings(data_dir, settings)
        return settings
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from exc
    missing = False
    for f in dataclasses.fields(settings):
        section = getattr(settings, f.name)
        values = raw.get(f.name)
        if values is None:
            missing = True
            continue
        if not isinstance(values, dict):
            raise SettingsError(f"{path}: [{f.name}] must be a table")
        _merge(section, values, f.name)
        if any(sf.name not in values for sf in dataclasses.fields(section)):
            missing = True
    if missing:
        # Newly introduced settings get their generated defaults written down once.
        save_settings(data_dir, settings, extra=raw)
    return settings


def save_settings(data_dir: Path, settings: Settings, extra: dict[str, Any] | None = None) -> None:
    """Write `gcs.toml` atomically (temp file + rename), keeping unknown keys from `extra`."""
    doc: dict[str, Any] = {}
    if extra:
        doc.update({k: dict(v) if isinstance(v, dict) else v for k, v in extra.items()})
    for name, values in settings.to_dict().items():
        doc.setdefault(name, {})
        if isinstance(doc[name], dict):
            doc[name].update(values)
        else:
            doc[name] = values
    path = data_dir / SETTINGS_FILE
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(doc), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("gcs", appauthor=False))

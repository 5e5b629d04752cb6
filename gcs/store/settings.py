"""The station's settings file, `gcs.toml` in the data directory.

On first start the file is generated with fresh secrets (device MQTT password, binding code,
workspace id, token secret) so that two stations never share credentials. Later starts read it
back; unknown keys are kept out of the typed view but never deleted from the file by a save that
only changes known keys. Every value can be changed by the operator (settings dialog, or by
editing the file while the station is stopped).

Identities are never rotated silently (issue 17 #6). Every good load and every save leaves a
copy, `gcs.toml.bak`. Once a data folder belongs to a station (its database holds a workspace,
or a backup exists), a `gcs.toml` that is missing, empty, unreadable or lacks its workspace id is
replaced by that backup (the damaged file is kept as `gcs.toml.damaged-<time>` and a warning
says so); with no usable backup, `load_settings` refuses with a message that says how to
restore, rather than generating new identities that would lock out every installed dock.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import sqlite3
import string
import time
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

log = logging.getLogger(__name__)

SETTINGS_FILE = "gcs.toml"
BACKUP_FILE = "gcs.toml.bak"
DATABASE_FILE = "gcs.db"  # gcs.store.db.DB_FILE (not imported: the settings load without it)


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
    # Per-dock logins {dock SN = password}, user name "dock-<SN>": a session with such a login
    # speaks for that dock only, and only it can replace a connected session for that serial.
    # Made by `gcs credentials --dock SN` or the connection wizard (gcs.station.dock_logins).
    dock_logins: dict[str, str] = field(default_factory=dict)


@dataclass
class HttpSettings:
    port: int = 8080
    https_port: int = 8443
    # Browser origins other than the station's own pages that may call the API, e.g. a web
    # console such as DJI's demo front end served elsewhere ("http://10.0.0.5:8081").
    allowed_origins: list[str] = field(default_factory=list)


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
    # The `provider` the STS object names, per client kind: "minio" or "aws" ("ali" only for
    # an Aliyun OSS endpoint). DJI said in 2022 that Pilot 2 refused "minio" (Cloud-API-Doc
    # issue 5); later Pilot versions list it. Both make the client's S3 SDK talk to `endpoint`.
    dock_provider: str = "minio"
    pilot_provider: str = "minio"
    # Key from which the embedded store derives temporary secrets (never stored per credential).
    credential_key: str = field(default_factory=lambda: secrets.token_hex(32))
    # A put whose size is known is refused when it would leave less free disk than this.
    min_free_bytes: int = 256 * 1024**2
    # Multipart uploads neither completed nor aborted are deleted after this many hours.
    multipart_expiry_h: float = 24.0
    # Open multipart uploads one credential may have at once (0 = no limit).
    max_open_uploads: int = 64


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
class AgoraSettings:
    """An external Agora project live video can be sent to (url_type 0, protocol §7.3)."""

    app_id: str = ""  # the project's App ID (32 hex digits): where viewers join, not sent
    token: str = ""  # a token of the project for `channel` and `uid`
    channel: str = ""
    uid: int = 0


@dataclass
class Gb28181Settings:
    """An external GB28181 platform live video can be sent to (url_type 3, protocol §7.3)."""

    server_ip: str = ""
    server_port: int = 5060
    server_id: str = ""  # 20-digit GB/T 28181 code of the platform
    agent_id: str = ""  # 20-digit code of the device (the dock/RC) at the platform
    agent_password: str = ""
    local_port: int = 5060  # the device's own SIP port
    channel: str = ""  # 20-digit code of the video channel


@dataclass
class LiveSettings:
    # The bundled media server (gcs.video): RTMP ingest and HTTP playback (MPEG-TS).
    enabled: bool = True
    rtmp_port: int = 1935
    http_port: int = 8090
    # A stream nobody watches is stopped after this many seconds.
    idle_stop_s: float = 120.0
    # A Dock 3 (and its Matrice 4D/4TD) streams by WHIP when no url_type is asked for; with
    # this on, an RTMP request (url_type 1) for it is sent as WHIP too.
    prefer_whip: bool = False
    # External services the operator can send a stream to (`gcs.station.live_external`).
    agora: AgoraSettings = field(default_factory=AgoraSettings)
    gb28181: Gb28181Settings = field(default_factory=Gb28181Settings)


@dataclass
class BasemapSettings:
    """The desktop map's base map and the tile server offline areas are downloaded from
    (gcs.station.basemap). Applied live; saved by the station when the operator changes them."""

    # The base layer last chosen on the desktop map: "grid" (world overview), "offline" (every
    # downloaded area), "online" (the tile server below), "mbtiles:NAME", "osm", "satellite".
    base_layer: str = ""
    # A tile server you are entitled to download from: {z} {x} {y}, {s} for a subdomain.
    url_template: str = ""
    subdomains: str = ""  # "abc" or "a,b,c"
    attribution: str = ""
    max_zoom: int = 19
    # Sent with every tile request; empty = "gcs/<version> (offline ground station)".
    user_agent: str = ""


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
    live: LiveSettings = field(default_factory=LiveSettings)
    basemap: BasemapSettings = field(default_factory=BasemapSettings)

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
        if dataclasses.is_dataclass(current):  # a sub-table such as [live.agora]
            if not isinstance(value, dict):
                raise SettingsError(f"[{where}.{f.name}] must be a table, got {value!r}")
            _merge(current, value, f"{where}.{f.name}")
            continue
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

    A damaged or missing file of an established station is restored from `gcs.toml.bak`
    (logged as a warning); a good file refreshes that backup.

    Raises:
        SettingsError: the file has a value of the wrong type; or it is damaged or missing in a
            data folder that already belongs to a station and no good backup exists (the
            message says how to restore; nothing was changed).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SETTINGS_FILE
    try:
        raw = _read(path) if path.exists() else None
        problem = "does not exist" if raw is None else _identity_problem(raw)
    except SettingsError as exc:
        raw, problem = None, str(exc)
    if problem is not None:
        owner = _established(data_dir)
        if owner is not None:
            raw = _restore_backup(data_dir, f"{path} {problem}", owner)
        elif raw is None and path.exists():
            raise SettingsError(f"{path} {problem}")
    if raw is None:
        settings = Settings()
        save_settings(data_dir, settings)
        return settings
    settings, missing = _typed(raw, path)
    if missing:
        # Newly introduced settings get their generated defaults written down once.
        save_settings(data_dir, settings, extra=raw)
    else:
        _write_backup(data_dir)
    return settings


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"is not valid TOML ({exc})") from exc
    except OSError as exc:
        raise SettingsError(f"cannot be read ({exc.strerror or exc})") from exc


def _identity_problem(raw: dict[str, Any]) -> str | None:
    """Why `raw` cannot be a station's settings (None if it can): it lacks the workspace id."""
    station = raw.get("station")
    workspace_id = station.get("workspace_id") if isinstance(station, dict) else None
    if not raw:
        return "is empty"
    if not isinstance(workspace_id, str) or not workspace_id:
        return "has no [station] workspace_id"
    return None


def _typed(raw: dict[str, Any], path: Path) -> tuple[Settings, bool]:
    """The settings `raw` describes, and whether some known key was missing (default used)."""
    settings = Settings()
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
        if _lacks(section, values):
            missing = True
    return settings, missing


def _lacks(section: Any, values: dict[str, Any]) -> bool:
    """Whether `values` misses a key of `section` (or of one of its sub-tables)."""
    for sf in dataclasses.fields(section):
        if sf.name not in values:
            return True
        sub = getattr(section, sf.name)
        if dataclasses.is_dataclass(sub) and isinstance(values[sf.name], dict):
            if _lacks(sub, values[sf.name]):
                return True
    return False


def _established(data_dir: Path) -> str | None:
    """Why `data_dir` already belongs to a station (None for a first start)."""
    database = data_dir / DATABASE_FILE
    if database.exists():
        try:
            uri = f"{database.resolve().as_uri()}?mode=ro"
            with sqlite3.connect(uri, uri=True, timeout=5) as conn:
                row = conn.execute("SELECT id FROM workspaces LIMIT 1").fetchone()
        except sqlite3.Error as exc:
            if "no such table" not in str(exc):
                return f"its database {database} exists but cannot be read ({exc})"
            row = None
        if row is not None:
            return f"its database {database} holds workspace {row[0]}"
    if (data_dir / BACKUP_FILE).exists():
        return f"a settings backup {data_dir / BACKUP_FILE} exists"
    return None


def _restore_backup(data_dir: Path, problem: str, owner: str) -> dict[str, Any]:
    """Put `gcs.toml.bak` back in place of a damaged or missing `gcs.toml` and return it.

    Raises:
        SettingsError: no good backup (the message says how to restore by hand).
    """
    path, backup = data_dir / SETTINGS_FILE, data_dir / BACKUP_FILE
    try:
        raw = _read(backup) if backup.exists() else None
        backup_problem = "does not exist" if raw is None else _identity_problem(raw)
    except SettingsError as exc:
        raw, backup_problem = None, str(exc)
    if raw is None or backup_problem is not None:
        raise SettingsError(
            f"{problem}, and this data folder already belongs to a station ({owner}). "
            "New settings would give it a new workspace id, dock password, binding code and "
            "token secret, and lock out every installed dock and Pilot, so gcs did not start "
            f"and changed nothing (the backup {backup} {backup_problem}). To restore, put your "
            f"last good gcs.toml back in {data_dir} (from your own backup, or fix the file by "
            "hand), then start again; to really start afresh with new identities, move the whole "
            "data folder away. See README, 'Settings backup'. / 设置文件损坏或丢失，"
            "且本数据目录已属于一个工作站。为避免已安装的机场被锁定，gcs 未启动。"
            f"请将最近一次正确的 gcs.toml 放回 {data_dir} 后再启动。"
        )
    kept = None
    if path.exists():
        kept = path.with_name(f"{SETTINGS_FILE}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, kept)
    _atomic_write(path, backup.read_text(encoding="utf-8"))
    log.warning(
        "%s; restored the last good settings from %s%s. Check them before the docks reconnect.",
        problem,
        backup,
        f" (the damaged file is kept as {kept.name})" if kept else "",
    )
    return raw


def _write_backup(data_dir: Path) -> None:
    """Copy the (good) `gcs.toml` to `gcs.toml.bak` if they differ; a failure is only logged."""
    path, backup = data_dir / SETTINGS_FILE, data_dir / BACKUP_FILE
    try:
        text = path.read_text(encoding="utf-8")
        if backup.exists() and backup.read_text(encoding="utf-8") == text:
            return
        _atomic_write(backup, text)
    except OSError as exc:
        log.warning("could not keep a backup of %s in %s: %s", path, backup, exc)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


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
    _atomic_write(data_dir / SETTINGS_FILE, tomli_w.dumps(doc))
    _write_backup(data_dir)


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("gcs", appauthor=False))


def save_section(data_dir: Path, name: str, section: Any) -> None:
    """Write only section `name` (a settings dataclass) into gcs.toml, keeping the rest of the
    file as it is (another writer's pending changes included)."""
    path = data_dir / SETTINGS_FILE
    doc = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    doc[name] = dataclasses.asdict(section)
    _atomic_write(path, tomli_w.dumps(doc))
    _write_backup(data_dir)


def write_settings_keeping_extra(data_dir: Path, settings: Settings) -> None:
    """Write `settings` to gcs.toml, keeping the keys of the current file this version does not
    know (other tools' sections, newer settings)."""
    path = data_dir / SETTINGS_FILE
    extra = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    save_settings(data_dir, settings, extra=extra)

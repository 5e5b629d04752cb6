"""Sending live video to an external service: Agora (url_type 0) and GB28181 (url_type 3).

The station does not receive these streams: the device pushes to the service the operator set
up in `gcs.toml` (`[live.agora]`, `[live.gb28181]`), and the station only builds the `url` of
`live_start_push` exactly as protocol §7.3 gives it:

* Agora: `channel={channel}&sn={source SN}&token={token, URL-encoded}&uid={uid}` — the token
  may hold `+`, `/` and `=`, so it is form-encoded (`+` → `%2B`) as DJI's reference platform does.
* GB28181: `serverIP=…&serverPort=…&serverID=…&agentID=…&agentPassword=…&localPort=…&channel=…`
  with the 20-digit GB/T 28181 codes of the platform, the device (agent) and the channel.

`problems()` says, in EN/ZH, what is missing or wrong in a section (the settings dialog shows
it; a start with such settings is refused before anything is sent).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import quote_plus

AGORA = 0
GB28181 = 3
EXTERNAL_URL_TYPES = (AGORA, GB28181)
NAMES = {AGORA: "Agora", GB28181: "GB28181"}

_GB_CODE = re.compile(r"^\d{20}$")
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
# Agora channel names: up to 64 of these characters (Agora's rule), except `&` and `=`, which
# would cut the key=value list of the url (§7.3 sends the channel as it is).
_AGORA_CHANNEL = re.compile(r"^[A-Za-z0-9 !#$%()+\-:;<.>?@\[\]^_{}|~,]{1,64}$")
UID_MAX = 2**32 - 1


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a section, in English and Chinese."""

    field: str
    en: str
    zh: str


def _get(section: Any, name: str) -> Any:
    return getattr(section, name, None)


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def is_set_up(url_type: int, section: Any) -> bool:
    """Whether the operator entered anything for this service (a section left at its
    defaults means "not set up", which is not an error until someone sends to it)."""
    defaults = type(section)()
    return any(getattr(section, f.name) != getattr(defaults, f.name) for f in fields(section))


def _port(section: Any, name: str, label: str, zh: str) -> list[Problem]:
    value = _get(section, name)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return []
    return [
        Problem(
            name,
            f"{label} must be a port from 1 to 65535, not {value!r}",
            f"{zh}应为 1 到 65535 之间的端口，而不是 {value!r}",
        )
    ]


def _code(section: Any, name: str, label: str, zh: str) -> list[Problem]:
    value = _get(section, name)
    if isinstance(value, str) and _GB_CODE.match(value):
        return []
    shown = value if value else "empty"
    return [
        Problem(
            name,
            f"{label} must be the 20-digit GB/T 28181 code, not {shown!r}",
            f"{zh}应为 20 位 GB/T 28181 编码，而不是 {shown!r}",
        )
    ]


def agora_problems(a: Any) -> list[Problem]:
    out: list[Problem] = []
    app_id = _get(a, "app_id")
    if not _blank(app_id) and not _HEX32.match(str(app_id)):
        out.append(
            Problem(
                "app_id",
                f"Agora App ID must be 32 hexadecimal characters, not {app_id!r}",
                f"声网 App ID 应为 32 位十六进制字符，而不是 {app_id!r}",
            )
        )
    token = _get(a, "token")
    if _blank(token):
        out.append(Problem("token", "Agora token is empty", "声网 Token 为空"))
    elif any(c.isspace() for c in str(token)):
        out.append(
            Problem("token", "Agora token must not contain spaces", "声网 Token 不能包含空格")
        )
    channel = _get(a, "channel")
    if _blank(channel):
        out.append(Problem("channel", "Agora channel is empty", "声网频道为空"))
    elif not _AGORA_CHANNEL.match(str(channel)):
        out.append(
            Problem(
                "channel",
                f"Agora channel {channel!r} must be 1 to 64 letters, digits or Agora's "
                "punctuation (no '&' or '=')",
                f"声网频道 {channel!r} 应为 1 到 64 个字母、数字或声网允许的符号（不能含 & 或 =）",
            )
        )
    uid = _get(a, "uid")
    if not isinstance(uid, int) or isinstance(uid, bool) or not 0 <= uid <= UID_MAX:
        out.append(
            Problem(
                "uid",
                f"Agora uid must be a whole number from 0 to {UID_MAX}, not {uid!r}",
                f"声网 uid 应为 0 到 {UID_MAX} 之间的整数，而不是 {uid!r}",
            )
        )
    return out


def gb28181_problems(g: Any) -> list[Problem]:
    out: list[Problem] = []
    ip = _get(g, "server_ip")
    try:
        ipaddress.IPv4Address(str(ip).strip())
    except ValueError:
        shown = ip if ip else "empty"
        out.append(
            Problem(
                "server_ip",
                f"GB28181 server IP must be an IPv4 address such as 192.168.1.10, not {shown!r}",
                f"GB28181 服务器 IP 应为 IPv4 地址（如 192.168.1.10），而不是 {shown!r}",
            )
        )
    out += _port(g, "server_port", "GB28181 server port", "GB28181 服务器端口")
    out += _code(g, "server_id", "GB28181 server ID", "GB28181 服务器编号")
    out += _code(g, "agent_id", "GB28181 agent (device) ID", "GB28181 设备编号")
    password = _get(g, "agent_password")
    if _blank(password):
        out.append(
            Problem("agent_password", "GB28181 agent password is empty", "GB28181 设备密码为空")
        )
    elif any(c in str(password) for c in "&= ") or not str(password).isprintable():
        out.append(
            Problem(
                "agent_password",
                "GB28181 agent password must not contain '&', '=' or spaces (they would cut "
                "the url the device reads)",
                "GB28181 设备密码不能包含 &、= 或空格（会截断设备读取的 url）",
            )
        )
    out += _port(g, "local_port", "GB28181 local port", "GB28181 本地端口")
    out += _code(g, "channel", "GB28181 channel ID", "GB28181 通道编号")
    return out


def problems(url_type: int, live: Any) -> list[Problem]:
    """What is wrong with the settings of external service `url_type` in `live`
    (a `LiveSettings`)."""
    if url_type == AGORA:
        return agora_problems(live.agora)
    if url_type == GB28181:
        return gb28181_problems(live.gb28181)
    raise ValueError(f"url_type {url_type} is not an external service")


def agora_url(a: Any, source_sn: str) -> str:
    """§7.3 url of url_type 0 for the video of `source_sn` (the token form-encoded)."""
    return (
        f"channel={a.channel}&sn={source_sn}&token={quote_plus(a.token, safe='')}&uid={int(a.uid)}"
    )


def gb28181_url(g: Any) -> str:
    """§7.3 url of url_type 3 (the keys spelt as DJI's devices read them)."""
    return (
        f"serverIP={g.server_ip.strip()}&serverPort={int(g.server_port)}"
        f"&serverID={g.server_id}&agentID={g.agent_id}&agentPassword={g.agent_password}"
        f"&localPort={int(g.local_port)}&channel={g.channel}"
    )


def destination(url_type: int, live: Any) -> tuple[str, str]:
    """Where a stream of this type goes, as the operator reads it (EN, ZH); no secrets."""
    if url_type == AGORA:
        a = live.agora
        app = f" (App ID {a.app_id})" if a.app_id else ""
        return (
            f"Agora channel '{a.channel}', uid {a.uid}{app}",
            f"声网频道“{a.channel}”，uid {a.uid}{app}",
        )
    if url_type == GB28181:
        g = live.gb28181
        return (
            f"GB28181 platform {g.server_ip}:{g.server_port} (server {g.server_id}), "
            f"device {g.agent_id}, channel {g.channel}",
            f"GB28181 平台 {g.server_ip}:{g.server_port}（服务器 {g.server_id}），"
            f"设备 {g.agent_id}，通道 {g.channel}",
        )
    raise ValueError(f"url_type {url_type} is not an external service")


class NotSetUp(Exception):
    """The settings of an external service are missing or wrong (`en`, `zh` say what)."""

    def __init__(self, en: str, zh: str, missing: bool) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh
        self.missing = missing


def external_url(url_type: int, live: Any, source_sn: str) -> str:
    """The `url` of `live_start_push` for external service `url_type`.

    Raises:
        NotSetUp: the service has not been set up, or its settings are wrong.
    """
    name = NAMES[url_type]
    section = live.agora if url_type == AGORA else live.gb28181
    where = "[live.agora]" if url_type == AGORA else "[live.gb28181]"
    if not is_set_up(url_type, section):
        raise NotSetUp(
            f"{name} is not set up: enter its settings in Settings → Live video "
            f"({where} in gcs.toml) first",
            f"尚未配置{name}：请先在“设置 → 直播”中填写（gcs.toml 的 {where}）",
            missing=True,
        )
    found = problems(url_type, live)
    if found:
        raise NotSetUp(
            f"{name} settings are incomplete: " + "; ".join(p.en for p in found),
            f"{name} 设置不完整：" + "；".join(p.zh for p in found),
            missing=True,
        )
    return agora_url(section, source_sn) if url_type == AGORA else gb28181_url(section)

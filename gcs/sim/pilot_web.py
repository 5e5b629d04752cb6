"""The HTTP/WebSocket side of a simulated DJI Pilot 2: what Pilot does once its modules load.

A `PilotWeb` session talks to the station only over the network, like Pilot 2 on an RC:

1. `login()` -- POST /manage/api/v1/login (as the H5 login page does) and keep the token; the
   returned `thing` credentials (`mqtt_addr`, `mqtt_username`, `mqtt_password`) are what the
   simulated RC must use for its MQTT session (client id = RC serial).
2. `start()` -- a background task that fetches GET users/current and workspaces/current, POSTs
   the RC binding every `bind_retry_s` until the station knows the RC (the H5 page polls the
   same way), fetches the situational-awareness topology, and keeps the WebSocket
   /api/v1/ws?x-auth-token=... open: on `device_online`, `device_offline` and
   `device_update_topo` it re-fetches the topology (as Pilot's tsa module does) and it keeps
   the last `device_osd` of every device. A lost WebSocket is re-opened after `retry_s`; a 401
   (token expired or revoked) logs in again.
   Once connected it loads the map module: GET the element groups (§8.2 #2) into `map_groups`,
   and follows the `map_element_create/update/delete` and `map_group_refresh` pushes.
   `create_element()`, `update_element()` and `delete_element()` draw, edit and erase as Pilot
   does (ids chosen by Pilot, new elements in the one type-2 app-shared group).
3. `stop()` -- closes everything.

Counters and the last topology are public for tests and the operator's demo view.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import ssl
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from gcs.aio import spawn
from gcs.sim.media import Shot, StorageGrant, dji_photo, image_source, put_object

log = logging.getLogger(__name__)

__all__ = ["PilotLogin", "PilotWeb", "PilotWebError"]


class PilotWebError(Exception):
    """A station answer Pilot could not use: `status` (HTTP) and the station's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class PilotLogin:
    """What login returned: the token and the `thing` module's MQTT parameters."""

    access_token: str
    user_id: str
    username: str
    workspace_id: str
    mqtt_addr: str
    mqtt_username: str
    mqtt_password: str

    @property
    def mqtt_host(self) -> str:
        return urlsplit(self.mqtt_addr).hostname or ""

    @property
    def mqtt_port(self) -> int:
        return urlsplit(self.mqtt_addr).port or 1883


@dataclass
class PilotWebStats:
    logins: int = 0
    topology_fetches: int = 0
    ws_connects: int = 0
    ws_messages: dict[str, int] = field(default_factory=dict)
    bind_attempts: int = 0


class PilotWeb:
    """One Pilot's HTTP/WS session. Usable after `await login()`; `start()` runs the rest."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        rc_sn: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        bind_retry_s: float = 2.0,
        retry_s: float = 2.0,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.username = username
        self.password = password
        self.rc_sn = rc_sn
        self.ssl_context = ssl_context
        self.bind_retry_s = bind_retry_s
        self.retry_s = retry_s
        self.credentials: PilotLogin | None = None
        self.user: dict[str, Any] = {}
        self.workspace: dict[str, Any] = {}
        self.bound = False
        self.topology: list[dict[str, Any]] = []
        self.osd: dict[str, dict[str, Any]] = {}
        self.osd_received_at: dict[str, float] = {}
        self.ws_connected = asyncio.Event()
        self.topology_event = asyncio.Event()
        self.map_groups: dict[str, dict[str, Any]] = {}
        self.map_changed = asyncio.Event()
        self.stats = PilotWebStats()
        self.error = ""
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    # -- HTTP ----------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self.ssl_context or False, limit=4)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=10)
            )
        return self._session

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call; returns the envelope's `data`.

        Raises:
            PilotWebError: non-2xx status or non-zero `code` (status 0 if unreachable).
        """
        headers = {"Content-Type": "application/json"}
        if self.credentials is not None:
            headers["x-auth-token"] = self.credentials.access_token
        url = self.base_url + path.lstrip("/")
        try:
            async with self._http().request(
                method, url, headers=headers, data=json.dumps(body) if body is not None else None
            ) as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PilotWebError(0, f"{url} unreachable: {exc}") from exc
        try:
            doc = json.loads(text) if text else {}
        except ValueError:
            doc = {}
        if status >= 300 or not isinstance(doc, dict) or doc.get("code") != 0:
            message = doc.get("message") if isinstance(doc, dict) else None
            raise PilotWebError(status, str(message or text[:200] or "no answer"))
        return doc.get("data")

    async def login(self) -> PilotLogin:
        """Log in and return the token and thing credentials. Raises PilotWebError."""
        self.credentials = None
        data = await self.call(
            "POST",
            "manage/api/v1/login",
            {"username": self.username, "password": self.password, "flag": 2},
        )
        if not isinstance(data, dict):
            raise PilotWebError(200, "login answered without data")
        try:
            self.credentials = PilotLogin(
                access_token=str(data["access_token"]),
                user_id=str(data["user_id"]),
                username=str(data["username"]),
                workspace_id=str(data["workspace_id"]),
                mqtt_addr=str(data["mqtt_addr"]),
                mqtt_username=str(data["mqtt_username"]),
                mqtt_password=str(data["mqtt_password"]),
            )
        except KeyError as exc:
            raise PilotWebError(200, f"login answer lacks {exc}") from exc
        self.stats.logins += 1
        return self.credentials

    async def upload_photo(
        self,
        shot: Shot,
        name: str,
        *,
        aircraft_sn: str = "",
        drone_model_key: str = "0-91-0",
        payload_model_key: str = "1-81-0",
        camera_model: str = "M3TD",
    ) -> tuple[str, bool]:
        """What Pilot 2's media module does for one photo (§8.2 #6, #7, #9): ask whether the
        library already has it (fast-upload), else get STS credentials, PUT the file and report
        it (upload-callback). Returns (object key, whether it was uploaded).

        Raises:
            PilotWebError: an HTTP call failed; UploadError: the store refused the PUT.
        """
        assert self.credentials is not None, "login() first"
        ws = quote(self.credentials.workspace_id)
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(
            None, dji_photo, shot, camera_model, (640, 480), image_source(name)
        )
        md5 = hashlib.md5(body).hexdigest()
        t = shot.taken_at
        tiny = f"{md5}_{t.year}_{t.month}_{t.day}_{t.hour}_{t.minute}_{t.second}"
        ext = {
            "drone_model_key": drone_model_key,
            "payload_model_key": payload_model_key,
            "is_original": True,
            "tinny_fingerprint": tiny,
            "sn": aircraft_sn,
        }
        ask = {"fingerprint": md5, "name": name, "path": "DJI_001", "ext": ext}
        try:
            await self.call("POST", f"media/api/v1/workspaces/{ws}/fast-upload", ask)
        except PilotWebError as exc:
            if exc.status >= 300 or exc.status == 0:
                raise
        else:
            return "", False  # the library already has it: Pilot skips the upload
        sts = await self.call("POST", f"storage/api/v1/workspaces/{ws}/sts")
        try:
            grant = StorageGrant.from_output(sts)
        except ValueError as exc:
            raise PilotWebError(200, f"sts: {exc}") from exc
        key = grant.object_key(name)
        await loop.run_in_executor(None, put_object, grant, key, body, "image/jpeg")
        report = {
            "result": 0,
            "name": name,
            "path": "DJI_001",
            "object_key": key,
            "fingerprint": md5,
            "sub_file_type": 0,
            "ext": {**ext, "file_group_id": ""},
            "metadata": {
                "absolute_altitude": round(shot.height, 3),
                "relative_altitude": round(shot.elevation, 3),
                "gimbal_yaw_degree": round(shot.gimbal_yaw, 2),
                "created_time": shot.taken_at.isoformat(),
                "shoot_position": {"lat": shot.latitude, "lng": shot.longitude},
            },
        }
        await self.call("POST", f"media/api/v1/workspaces/{ws}/upload-callback", report)
        return key, True

    async def fetch_topology(self) -> list[dict[str, Any]]:
        """GET the workspace's topology (what Pilot's map shows). Raises PilotWebError."""
        assert self.credentials is not None
        ws_id = quote(self.credentials.workspace_id)
        data = await self.call("GET", f"manage/api/v1/workspaces/{ws_id}/devices/topologies")
        items = data.get("list", []) if isinstance(data, dict) else []
        self.topology = [i for i in items if isinstance(i, dict)]
        self.stats.topology_fetches += 1
        self.topology_event.set()
        return self.topology

    def devices_on_map(self) -> dict[str, bool]:
        """Every device in the last topology: sn -> online."""
        out: dict[str, bool] = {}
        for item in self.topology:
            for entry in [*item.get("parents", []), *item.get("hosts", [])]:
                if isinstance(entry, dict) and isinstance(entry.get("sn"), str):
                    out[entry["sn"]] = bool(entry.get("online_status"))
        return out

    # -- map module (§8.2 #2-#5) ---------------------------------------------------------

    def _map_path(self, rest: str) -> str:
        assert self.credentials is not None
        return f"map/api/v1/workspaces/{quote(self.credentials.workspace_id)}/{rest}"

    async def fetch_map_groups(self, group_ids: list[str] | None = None) -> None:
        """GET the element groups (all, or these) into `map_groups`. Raises PilotWebError."""
        targets: list[str | None] = list(group_ids) if group_ids else [None]
        for group_id in targets:
            query = f"?group_id={quote(group_id)}" if group_id else ""
            data = await self.call("GET", self._map_path("element-groups" + query))
            for group in data if isinstance(data, list) else []:
                if isinstance(group, dict) and isinstance(group.get("id"), str):
                    self.map_groups[group["id"]] = group
        self.map_changed.set()

    def shared_group(self) -> str:
        """The id of the app-shared (type 2) group, where Pilot puts what it draws."""
        for group_id, group in self.map_groups.items():
            if group.get("type") == 2:
                return group_id
        raise PilotWebError(200, "the station listed no app-shared (type 2) map group")

    def elements(self) -> dict[str, dict[str, Any]]:
        """Every element Pilot shows, by id."""
        return {
            e["id"]: e
            for g in self.map_groups.values()
            for e in g.get("elements", [])
            if isinstance(e, dict) and isinstance(e.get("id"), str)
        }

    async def create_element(self, name: str, kind: int, content: dict[str, Any]) -> str:
        """Draw an element (0 point, 1 line, 2 polygon) in the shared group; returns its id."""
        if not self.map_groups:
            await self.fetch_map_groups()
        element_id = str(uuid.uuid4())
        body = {
            "id": element_id,
            "name": name,
            "resource": {"type": kind, "user_name": self.username, "content": content},
        }
        await self.call(
            "POST", self._map_path(f"element-groups/{self.shared_group()}/elements"), body
        )
        return element_id

    async def update_element(
        self, element_id: str, *, name: str | None = None, content: dict[str, Any] | None = None
    ) -> None:
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if content is not None:
            body["content"] = content
        await self.call("PUT", self._map_path(f"elements/{quote(element_id)}"), body)

    async def delete_element(self, element_id: str) -> None:
        await self.call("DELETE", self._map_path(f"elements/{quote(element_id)}"))

    async def _on_map_push(self, code: str, data: dict[str, Any]) -> None:
        if code == "map_group_refresh":
            ids = [i for i in data.get("ids", []) if isinstance(i, str)]
            await self.fetch_map_groups(ids or None)
            return
        group = self.map_groups.get(str(data.get("group_id")))
        if group is None:
            await self.fetch_map_groups()
            return
        elements = [e for e in group.get("elements", []) if e.get("id") != data.get("id")]
        if code != "map_element_delete":
            elements.append(data)
        group["elements"] = elements
        self.map_changed.set()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Run the session in the background (after `login()`)."""
        if self._task is None:
            self._task = spawn(self._run(), name=f"pilot-web:{self.rc_sn}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            try:
                if self.credentials is None:
                    await self.login()
                await self._session_once()
            except asyncio.CancelledError:
                raise
            except PilotWebError as exc:
                self.error = str(exc)
                if exc.status == 401:
                    self.credentials = None  # token expired or revoked: log in again
                log.info("pilot %s: %s; retrying", self.rc_sn, exc)
            except (aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
                self.error = f"connection lost: {exc}"
                log.info("pilot %s: %s; retrying", self.rc_sn, self.error)
            self.ws_connected.clear()
            await asyncio.sleep(self.retry_s)

    async def _session_once(self) -> None:
        self.user = await self.call("GET", "manage/api/v1/users/current")
        self.workspace = await self.call("GET", "manage/api/v1/workspaces/current")
        await self._bind()
        await self.fetch_topology()
        await self.fetch_map_groups()
        await self._websocket()

    async def _bind(self) -> None:
        assert self.credentials is not None
        body = {
            "device_sn": self.rc_sn,
            "user_id": self.credentials.user_id,
            "workspace_id": self.credentials.workspace_id,
        }
        while not self.bound:
            self.stats.bind_attempts += 1
            try:
                await self.call("POST", f"manage/api/v1/devices/{quote(self.rc_sn)}/binding", body)
                self.bound = True
            except PilotWebError as exc:
                if exc.status != 404:
                    raise
                await asyncio.sleep(self.bind_retry_s)  # the RC has not come online yet

    def ws_url(self) -> str:
        assert self.credentials is not None
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        token = quote(self.credentials.access_token, safe="")
        return f"{scheme}://{parts.netloc}/api/v1/ws?x-auth-token={token}"

    async def _websocket(self) -> None:
        async with self._http().ws_connect(self.ws_url(), heartbeat=20.0) as ws:
            self.stats.ws_connects += 1
            self.ws_connected.set()
            self.error = ""
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await self._on_text(msg.data)
                elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                    break
        raise ConnectionError("the station closed the WebSocket")

    async def _on_text(self, text: str) -> None:
        try:
            doc = json.loads(text)
        except ValueError:
            return
        if not isinstance(doc, dict):
            return
        code = doc.get("biz_code")
        if not isinstance(code, str):
            return
        self.stats.ws_messages[code] = self.stats.ws_messages.get(code, 0) + 1
        data = doc.get("data")
        if code == "device_osd" and isinstance(data, dict) and isinstance(data.get("sn"), str):
            host = data.get("host")
            if isinstance(host, dict):
                self.osd[data["sn"]] = host
                self.osd_received_at[data["sn"]] = time.monotonic()
        elif code in ("device_online", "device_offline", "device_update_topo"):
            await self.fetch_topology()
        elif code.startswith("map_") and isinstance(data, dict):
            await self._on_map_push(code, data)

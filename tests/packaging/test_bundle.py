"""Smoke test of the installable Linux bundle (packaging/gcs.spec, packaging/build.sh).

The bundle is the one `bash packaging/dev.sh test` built just before (its folder in
``GCS_BUNDLE``); without that variable the test builds one itself (about two minutes). Every
check runs the bundle's own executable, with no Python of ours on the way: `--version`, `serve`
with the simulated fleet of the bundled `gcs sim` coming online through its embedded broker (a
child process of the same executable), and the desktop window, offscreen, showing that fleet.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from station_harness import REPO, ServeProcess, free_port, start_serve

from gcs.version import version

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle"),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("GCS_BUNDLE")
    if given:
        folder = Path(given)
        assert (folder / "gcs").is_file(), f"GCS_BUNDLE={given} holds no gcs executable"
        return folder
    out = tmp_path_factory.mktemp("bundle")
    env = dict(os.environ, PYTHON=sys.executable)
    done = subprocess.run(
        ["bash", str(REPO / "packaging" / "build.sh"), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return next(p for p in out.iterdir() if p.is_dir() and p.name.startswith("gcs-"))


def bundle_env(home: Path) -> dict[str, str]:
    """The environment of a user with an empty home: nothing of this checkout leaks in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "VIRTUAL_ENV", "GCS_")) and k != "PATH"
    }
    env.update(
        PATH="/usr/bin:/bin",
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        QT_QPA_PLATFORM="offscreen",
    )
    return env


def test_bundle_is_named_after_the_version_and_prints_it(bundle: Path, tmp_path: Path) -> None:
    assert bundle.name.startswith(f"gcs-{version()}-linux-"), bundle.name
    out = subprocess.run(
        [str(bundle / "gcs"), "--version"],
        capture_output=True,
        text=True,
        env=bundle_env(tmp_path),
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"gcs {version()}"
    archive = bundle.parent / f"{bundle.name}.tar.gz"
    if archive.exists():  # built by build.sh beside the folder
        with tarfile.open(archive) as tar:
            names = set(tar.getnames())
        for member in ("gcs", "gcs.desktop", "gcs.png", "THIRD-PARTY.md", "_internal"):
            assert f"{bundle.name}/{member}" in names, member


def test_bundle_carries_its_pages_assets_and_licences_and_no_tests(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert (internal / "resources" / "h5" / "index.html").is_file()
    vendor = internal / "resources" / "vendor"
    assert (vendor / "leaflet" / "leaflet.js").is_file()
    # the map's drawing tools and its offline world overview travel with the app
    assert (vendor / "leaflet-geoman" / "leaflet-geoman.js").is_file()
    assert any((vendor / "topojson-client").glob("topojson-client*.js"))
    assert any((vendor / "world-atlas").glob("*.json"))
    assert (internal / "gcs" / "ui" / "map_page" / "station_map.js").is_file()
    licences = internal / "licenses"
    names = ("pyside6-essentials", "amqtt", "paho-mqtt", "aiohttp", "leaflet", "python")
    for name in (*names, "leaflet-geoman", "topojson-client", "world-atlas"):
        assert any((licences / name).iterdir()), f"no licence text for {name}"
    qt_licence = (licences / "pyside6-essentials" / "LGPL-3.0.txt").read_text()
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in qt_licence
    desktop = (bundle / "gcs.desktop").read_text()
    assert "Exec=gcs" in desktop and "Icon=gcs" in desktop
    # No GPL-only library (GNU readline comes with CPython's readline module).
    assert not list(internal.rglob("libreadline*")), "libreadline (GPL-3.0) is bundled"
    # Nothing from the tests, and no test tools, in the bundle.
    names = {p.name for p in internal.rglob("*")}
    for unwanted in ("tests", "pytest", "_pytest", "hypothesis", "boto3", "station_harness.py"):
        assert unwanted not in names, unwanted
    # No link left dangling, and every library resolves (bundled, or a base system library).
    dangling = [str(p) for p in bundle.rglob("*") if p.is_symlink() and not p.exists()]
    assert not dangling, dangling[:5]
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    # 479 MiB on 2026-12-03: QtWebEngine is 195 MB of it; QtMultimedia with Qt's LGPL FFmpeg
    # (the media viewer's video playback) added 23 MB.
    assert size <= 500 * 1024**2, f"the bundle is {size / 1024**2:.0f} MiB"
    ldd = shutil.which("ldd")
    if ldd:
        binaries = [
            p
            for p in internal.rglob("*")
            if p.is_file()
            and not p.is_symlink()
            and (".so" in p.name or p.name.endswith("Process"))
        ]
        assert len(binaries) > 100
        unresolved = []
        for lib in binaries:
            out = subprocess.run([ldd, str(lib)], capture_output=True, text=True, timeout=60)
            unresolved += [
                f"{lib.name}: {x.strip()}" for x in out.stdout.splitlines() if "not found" in x
            ]
        assert not unresolved, unresolved[:10]


def test_desktop_entry_installs_for_the_user(bundle: Path, tmp_path: Path) -> None:
    env = bundle_env(tmp_path)
    done = subprocess.run(
        ["sh", str(bundle / "install-desktop-entry.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    entry = tmp_path / ".local" / "share" / "applications" / "gcs-station.desktop"
    text = entry.read_text()
    assert f'Exec="{bundle.resolve()}/gcs"' in text
    icon = next(line for line in text.splitlines() if line.startswith("Icon="))[5:]
    assert Path(icon).is_file() and Path(icon).read_bytes()[:4] == b"\x89PNG"


def _read_lines(proc: subprocess.Popen[str], lines: list[str]) -> None:
    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())

    threading.Thread(target=reader, daemon=True).start()


def _wait(predicate: Any, timeout: float, what: Any) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


def _as_a_user(monkeypatch: Any, home: Path) -> None:
    """This process's environment becomes a user's with an empty home (`bundle_env`)."""
    for k, v in bundle_env(home).items():
        monkeypatch.setenv(k, v)
    for k in list(os.environ):
        if k.startswith(("PYTHON", "VIRTUAL_ENV", "GCS_")):
            monkeypatch.delenv(k)


def _start_bundled_sim(
    bundle: Path, serve: ServeProcess, folder: Path
) -> tuple[subprocess.Popen[str], list[str]]:
    """The bundle's `gcs sim` (one dock) against `serve`; its output lines, as they come."""
    cred = serve.credentials()
    cred["mqtt_host"] = "127.0.0.1"  # the station listens on loopback in tests
    (folder / "cred.json").write_text(json.dumps(cred))
    sim = subprocess.Popen(
        [str(bundle / "gcs"), "sim", "--credentials", str(folder / "cred.json"), "--docks", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    _read_lines(sim, lines)
    return sim, lines


@pytest.fixture
def bundled_serve(bundle: Path, tmp_path: Path, monkeypatch: Any) -> Iterator[ServeProcess]:
    _as_a_user(monkeypatch, tmp_path / "home")
    sp = start_serve(tmp_path / "station", timeout=60, program=(str(bundle / "gcs"),))
    yield sp
    sp.stop()


def test_bundled_serve_gets_ready_and_a_bundled_simulated_dock_comes_online(
    bundle: Path, bundled_serve: ServeProcess, tmp_path: Path
) -> None:
    serve = bundled_serve
    # The embedded broker is a child process of the same executable (`gcs broker`).
    children = psutil.Process(serve.proc.pid).children(recursive=True)
    brokers = [c for c in children if "broker" in c.cmdline()[1:2]]
    assert brokers, [c.cmdline() for c in children]
    assert Path(brokers[0].cmdline()[0]).resolve() == (bundle / "gcs").resolve()

    # The bundled H5 pages, with the version their footer shows.
    http = next(line.split(" ", 1)[1] for line in serve.lines if line.startswith("http: "))
    with urllib.request.urlopen(http.rstrip("/") + "/pilot/", timeout=10) as r:
        assert 'id="version"' in r.read().decode()
    with urllib.request.urlopen(http.rstrip("/") + "/pilot/config.json", timeout=10) as r:
        assert json.loads(r.read())["data"]["version"] == version()

    sim, lines = _start_bundled_sim(bundle, serve, tmp_path)
    try:
        _wait(
            lambda: any(line.startswith("fleet ready") for line in lines),
            90,
            lambda: "fleet ready from the bundled sim:\n" + "\n".join(lines + serve.lines),
        )
        import sqlite3

        db = sqlite3.connect(serve.data_dir / "gcs.db")

        def online() -> set[str]:
            rows = db.execute("SELECT sn FROM station_events WHERE kind = 'online'")
            return {r[0] for r in rows}

        def dock_serials() -> list[str]:
            rows = db.execute("SELECT sn FROM devices WHERE model_key LIKE '3-%'")
            return [r[0] for r in rows]

        _wait(lambda: dock_serials() and set(dock_serials()) <= online(), 30, "the dock online")
        db.close()
    finally:
        sim.terminate()
        sim.wait(15)
    assert serve.stop() == 0
    assert "stopped" in serve.lines


def test_bundled_desktop_window_opens_offscreen_and_shows_the_fleet(
    bundle: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    report = tmp_path / "probe.json"
    ports = {
        "--mqtt-port": free_port(),
        "--http-port": free_port(),
        "--https-port": free_port(),
        "--s3-port": free_port(),
        "--ntp-port": free_port(socket.SOCK_DGRAM),
    }
    command = [
        str(bundle / "gcs"),
        "demo",
        "--host",
        "127.0.0.1",
        *(str(x) for kv in ports.items() for x in kv),
        "--docks",
        "2",
        "--pilots",
        "1",
        "--probe",
        str(report),
    ]
    out = subprocess.run(command, capture_output=True, text=True, env=bundle_env(home), timeout=240)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    doc = json.loads(report.read_text())
    assert doc["ok"], doc
    assert doc["version"] == version()
    assert doc["gateways"] >= 3 and doc["aircraft"] >= 1, doc
    models = " ".join(row["Model"] for row in doc["fleet"])
    assert "Dock" in models and "RC" in models, doc["fleet"]
    assert doc["map"] is True  # QtWebEngine and Leaflet came with the bundle
    # A new user: the connection wizard opened by itself on this first start.
    assert any(w["class"] == "ConnectionWizard" for w in doc["windows"]), doc["windows"]
    assert Path(doc["screenshot"]).stat().st_size > 10_000
    # No --data-dir: the station made its data folder in the OS's usual per-user place.
    data = home / ".local" / "share" / "gcs"
    assert (data / "gcs.toml").is_file() and (data / "gcs.db").is_file()


def test_bundled_media_server_takes_an_rtmp_push_and_plays_it_back(
    bundle: Path, tmp_path: Path
) -> None:
    """Live video in the installer: the bundle's own `gcs media` (Qt's LGPL FFmpeg, no PyAV in
    the bundle) accepts a push with the stream's secret, refuses one without it, and plays the
    pictures back as MPEG-TS (the test's publisher and player are PyAV, outside the bundle)."""
    av = pytest.importorskip("av")
    from live_push import Pusher, read_number

    assert not list((bundle / "_internal").glob("av/")), "PyAV (GPL FFmpeg) is in the bundle"
    proc = subprocess.Popen(
        [
            str(bundle / "gcs"),
            "media",
            "--host",
            "127.0.0.1",
            "--rtmp-port",
            "0",
            "--http-port",
            "0",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=bundle_env(tmp_path / "home"),
    )
    lines: list[str] = []
    _read_lines(proc, lines)
    pushers: list[Pusher] = []

    def events(kind: str) -> list[dict[str, Any]]:
        found = []
        for line in list(lines):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == kind:
                found.append(event)
        return found

    try:
        _wait(lambda: events("ready") or events("failed"), 60, lambda: f"ready: {lines}")
        assert not events("failed"), lines
        ready = events("ready")[0]
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"op": "add", "name": "cam", "secret": "s3", "token": "t"}))
        proc.stdin.write("\n")
        proc.stdin.flush()
        rtmp = f"rtmp://127.0.0.1:{ready['rtmp_port']}/live"
        intruder = Pusher(f"{rtmp}/cam?secret=wrong", seconds=20)
        pushers.append(intruder)
        intruder.start()
        _wait(lambda: events("refused"), 30, lambda: f"the refusal: {lines}")
        assert "wrong secret" in events("refused")[0]["message"]
        pusher = Pusher(f"{rtmp}/cam?secret=s3", seconds=60, size=(320, 180))
        pushers.append(pusher)
        pusher.start()
        _wait(lambda: events("publishing"), 30, lambda: f"publishing: {lines}, {pusher.error}")
        url = f"http://127.0.0.1:{ready['http_port']}/live/cam.ts?token=t"
        numbers: list[int] = []
        with av.open(url, timeout=(10.0, 10.0)) as player:
            for frame in player.decode(video=0):
                numbers.append(read_number(frame.to_ndarray(format="rgb24")))
                if len(numbers) == 30:
                    break
        assert (frame.width, frame.height) == (320, 180)
        assert numbers == sorted(numbers) and numbers[-1] - numbers[0] >= 25, numbers
    finally:
        for p in pushers:
            p.stop.set()
        if proc.stdin is not None:
            proc.stdin.close()  # the parent is gone: the media server exits
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_bundled_simulated_camera_streams_without_pyav(
    bundle: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """`gcs demo` from an installer: the bundled simulator has no PyAV, so its camera pushes
    lossless H.264 of its own through the bundled video engine; a stream started through the
    bundled station's HTTP API plays back with the sending time drawn in it."""
    av = pytest.importorskip("av")
    from gcs.sim.video import read_time_ms
    from gcs.store.settings import load_settings, save_settings

    _as_a_user(monkeypatch, tmp_path / "home")
    data_dir = tmp_path / "station"
    settings = load_settings(data_dir)
    settings.live.rtmp_port, settings.live.http_port = free_port(), free_port()
    save_settings(data_dir, settings)
    serve = start_serve(data_dir, timeout=60, program=(str(bundle / "gcs"),))
    sim, lines = _start_bundled_sim(bundle, serve, tmp_path)
    try:
        _wait(lambda: any(x.startswith("fleet ready") for x in lines), 90, lambda: lines)
        http = next(x.split(" ", 1)[1] for x in serve.lines if x.startswith("http: "))
        base = http.rstrip("/")

        def call(path: str, body: dict[str, Any] | None = None, token: str = "") -> Any:
            data = json.dumps(body).encode() if body is not None else None
            req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
            req.add_header("Content-Type", "application/json")
            if token:
                req.add_header("x-auth-token", token)
            with urllib.request.urlopen(req, timeout=20) as r:
                return json.loads(r.read())

        login = {
            "username": settings.pilot.default_user,
            "password": settings.pilot.default_password,
            "flag": 1,
        }
        token = call("/manage/api/v1/login", login)["data"]["access_token"]
        devices: list[dict[str, Any]] = []

        def dock_listed() -> bool:
            devices[:] = call("/manage/api/v1/live/capacity", token=token)["data"]
            return any(d["cameras_list"] for d in devices)

        _wait(dock_listed, 60, lambda: f"a camera in the capacity: {devices}")
        camera = next(d for d in devices if d["cameras_list"])["cameras_list"][0]
        video_id = camera["videos_list"][0]["id"]
        answer = call(
            "/manage/api/v1/live/streams/start", {"url_type": 1, "video_id": video_id}, token
        )
        assert answer["code"] == 0, answer
        times = []
        with av.open(answer["data"]["url"], timeout=(20.0, 20.0)) as player:
            for frame in player.decode(video=0):
                img = frame.to_ndarray(format="rgb24")
                times.append(read_time_ms(img))
                if len(times) == 10:
                    break
        assert img.shape == (360, 640, 3)
        now = int(time.time() * 1000) & 0xFFFFFFFF
        assert times == sorted(times) and 0 <= (now - times[-1]) & 0xFFFFFFFF < 10_000, times
    finally:
        sim.terminate()
        sim.wait(15)
        serve.stop()

"""Budgets of the installable bundle, side by side with the development install (prints JSON).

    python tests/bench/bundle.py [BUNDLE_DIR] [--runs N]

BUNDLE_DIR is a folder made by `packaging/build.sh` (default: the newest build/bundle/gcs-*
or dist/gcs-*). In the same run, for the bundle's executable and for `python -m gcs` of this
checkout:

* size: the folder on disk (sum of file sizes, and of allocated blocks) and compressed (the
  tarball build.sh made); for the development install, the virtualenv's site-packages;
* ready_s: `gcs serve` from process start to its "ready" line (headless), first run ("cold",
  right after the build or install has been read once) and the median of the next runs;
* window_s: the desktop window, offscreen, from process start to its first show
  (`gcs app --probe`, which also reports the process tree's memory then);
* idle_rss_mb: memory of `gcs serve` with its broker child after 5 s idle (sum of RSS).

The targets (issue 15): bundle <= 450 MB on disk, ready within 1.5x the development install.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def folder_size(path: Path) -> tuple[int, int]:
    """(sum of file sizes, sum of allocated bytes), links not followed."""
    size = blocks = 0
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            size += st.st_size
            blocks += st.st_blocks * 512
    return size, blocks


def station_args(data_dir: Path) -> list[str]:
    return [
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--mqtt-port",
        str(free_port()),
        "--http-port",
        str(free_port()),
        "--https-port",
        str(free_port()),
        "--s3-port",
        str(free_port()),
        "--ntp-port",
        str(free_port(socket.SOCK_DGRAM)),
    ]


def environment(home: Path) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(home))
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    return env


def tree_rss(pid: int) -> int:
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


def serve_once(program: list[str], idle_s: float = 0.0) -> dict[str, Any]:
    """Start `serve`, time it to "ready", optionally measure RSS after `idle_s`, stop it."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [*program, "serve", *station_args(Path(tmp) / "station")]
        started = time.monotonic()
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment(Path(tmp)),
        )
        ready = threading.Event()
        lines: list[str] = []

        def reader() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line.rstrip())
                if line.strip() == "ready":
                    ready.set()

        threading.Thread(target=reader, daemon=True).start()
        try:
            if not ready.wait(120):
                raise RuntimeError("serve did not get ready:\n" + "\n".join(lines[-20:]))
            out: dict[str, Any] = {"ready_s": round(time.monotonic() - started, 3)}
            if idle_s:
                time.sleep(idle_s)  # a benchmark: idle on purpose
                out["idle_rss_mb"] = round(tree_rss(proc.pid) / MB, 1)
            return out
        finally:
            proc.terminate()
            proc.wait(30)


def window_once(program: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "probe.json"
        args = [*program, "app", *station_args(Path(tmp) / "station"), "--probe", str(report)]
        done = subprocess.run(
            args, capture_output=True, text=True, env=environment(Path(tmp)), timeout=300
        )
        if done.returncode != 0 or not report.exists():
            raise RuntimeError("the window did not open:\n" + done.stderr[-2000:])
        doc = json.loads(report.read_text())
        return {"window_s": doc["shown_s"], "window_rss_mb": doc.get("rss_tree_mb")}


def measure(program: list[str], runs: int) -> dict[str, Any]:
    first = serve_once(program, idle_s=5.0)
    later = [serve_once(program)["ready_s"] for _ in range(max(runs - 1, 0))]
    win_first = window_once(program)
    win_later = [window_once(program)["window_s"] for _ in range(max(runs - 1, 0))]
    return {
        "ready_s_first": first["ready_s"],
        "ready_s_median": round(statistics.median(later), 3) if later else first["ready_s"],
        "idle_rss_mb": first["idle_rss_mb"],
        "window_s_first": win_first["window_s"],
        "window_s_median": (
            round(statistics.median(win_later), 3) if win_later else win_first["window_s"]
        ),
        "window_rss_mb": win_first["window_rss_mb"],
    }


def find_bundle() -> Path:
    found = sorted(
        [*REPO.glob("build/bundle/gcs-*"), *REPO.glob("dist/gcs-*")],
        key=lambda p: p.stat().st_mtime,
    )
    folders = [p for p in found if p.is_dir() and (p / "gcs").is_file()]
    if not folders:
        raise SystemExit("no bundle: run `bash packaging/build.sh build/bundle` first")
    return folders[-1]


def main(argv: list[str]) -> int:
    runs = 3
    if "--runs" in argv:
        i = argv.index("--runs")
        runs = int(argv[i + 1])
        del argv[i : i + 2]
    bundle = Path(argv[0]).resolve() if argv else find_bundle()
    size, blocks = folder_size(bundle)
    tarball = bundle.parent / f"{bundle.name}.tar.gz"
    site = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    dev_size, dev_blocks = folder_size(site / "site-packages")
    result = {
        "bundle": str(bundle),
        "runs": runs,
        "bundle_size_mb": round(size / MB, 1),
        "bundle_disk_mb": round(blocks / MB, 1),
        "bundle_tar_gz_mb": round(tarball.stat().st_size / MB, 1) if tarball.exists() else None,
        "dev_site_packages_mb": round(dev_size / MB, 1),
        "dev_site_packages_disk_mb": round(dev_blocks / MB, 1),
        "bundle_run": measure([str(bundle / "gcs")], runs),
        "dev_run": measure([sys.executable, "-m", "gcs"], runs),
    }
    b, d = result["bundle_run"], result["dev_run"]
    result["ready_ratio_bundle_over_dev"] = round(b["ready_s_median"] / d["ready_s_median"], 2)
    result["window_ratio_bundle_over_dev"] = round(b["window_s_median"] / d["window_s_median"], 2)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

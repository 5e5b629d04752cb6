"""After a flight the dock uploads its photos to the station's object store and reports them.

The store is the station's own S3 server (it checks SigV4 and session tokens), so the
simulator's hand-written signing meets an independent implementation.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import boto3
import pytest
from botocore.config import Config
from sim_cloud import Cloud, Mosquitto

from gcs.protocol.mediafile import read_photo
from gcs.sim import Fleet, FleetOptions, SimDock
from gcs.station.storage import TemporaryCredentials
from gcs.store.settings import Settings, load_settings
from gcs.web.s3 import S3Server, start_s3_server

pytestmark = pytest.mark.mosquitto


@dataclass
class Store:
    server: S3Server
    settings: Settings

    def sts(self, creds: TemporaryCredentials, prefix: str, *, secret: str | None = None) -> str:
        """The `storage_config_get` reply data the station would send."""
        return json.dumps(
            {
                "result": 0,
                "output": {
                    "bucket": self.settings.storage.bucket,
                    "credentials": {
                        "access_key_id": creds.access_key,
                        "access_key_secret": secret or creds.secret,
                        "expire": 3600,
                        "security_token": creds.session_token,
                    },
                    "endpoint": self.server.url,
                    "object_key_prefix": prefix,
                    "provider": "minio",
                    "region": self.settings.storage.region,
                },
            }
        )

    def read_all(self, keys: list[str]) -> list[bytes]:
        """The objects' bytes, through boto3 (blocking: call it off the store's loop)."""
        creds = self.server.access.mint(read_only=True)
        client: Any = boto3.client(
            "s3",
            endpoint_url=self.server.url,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret,
            aws_session_token=creds.session_token,
            region_name=self.settings.storage.region,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        bucket = self.settings.storage.bucket
        return [client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    data_dir = tmp_path / "data"
    settings = load_settings(data_dir)
    server = await start_s3_server("127.0.0.1", 0, data_dir=data_dir, settings=settings)
    yield Store(server, settings)
    await server.close()


async def fly(cloud: Cloud, dock: SimDock, flight_id: str) -> None:
    gw = dock.sn
    dock.aircraft.battery = 90.0
    prepare = (
        f'{{"flight_id": "{flight_id}", "execute_time": 0, "task_type": 0, '
        '"file": {"url": "http://127.0.0.1/w.kmz", "fingerprint": "abc"}}'
    )
    assert (await cloud.reply_to(gw, cloud.service(gw, "flighttask_prepare", prepare))).data == {
        "result": 0
    }
    execute = f'{{"flight_id": "{flight_id}"}}'
    assert (await cloud.reply_to(gw, cloud.service(gw, "flighttask_execute", execute))).data == {
        "result": 0
    }


@pytest.mark.slow
async def test_photos_uploaded_and_reported(
    mosquitto: Mosquitto, cloud: Cloud, store: Store
) -> None:
    prefix = "media/ws-1"
    cloud.answers["storage_config_get"] = store.sts(store.server.access.mint(prefix=prefix), prefix)
    fleet = Fleet(FleetOptions(mosquitto.url, docks=3, binding_code="qwe", seed=71, speedup=100.0))
    await fleet.start(timeout_s=10)
    try:
        dock = fleet.docks[2]
        gw = dock.sn
        await fly(cloud, dock, "f-media")

        def callbacks() -> list[dict[str, Any]]:
            return [s.data for s in cloud.on(f"thing/product/{gw}/events", "file_upload_callback")]

        done = await cloud.wait(
            lambda: [p for p in cloud.on(f"thing/product/{gw}/events", "flighttask_progress")
                     if p.data["output"]["status"] == "ok"],
            within=20,
            what="flight done",
        )  # fmt: skip
        media_count = done[0].data["output"]["ext"]["media_count"]
        assert media_count == 5  # 4 photos and a video
        await cloud.wait(lambda: len(callbacks()) >= media_count, within=10, what="callbacks")
        requests = cloud.on(f"thing/product/{gw}/requests", "storage_config_get")
        assert requests[0].data == {"module": 0}
        names = set()
        for data in callbacks()[:media_count]:
            file = data["file"]
            assert file["object_key"].startswith(f"{prefix}/f-media/")
            assert file["ext"]["flight_id"] == "f-media"
            assert file["ext"]["drone_model_key"] == "0-100-0"
            assert file["ext"]["payload_model_key"] == "1-98-0"
            meta = file["metadata"]
            assert meta["relative_altitude"] == pytest.approx(60, abs=1)
            assert isinstance(meta["gimbal_yaw_degree"], str)
            assert {"lat", "lng"} == set(meta["shoot_position"])
            names.add(file["name"])
        assert len(names) == media_count
        keys = [data["file"]["object_key"] for data in callbacks()[:media_count]]
        bodies = await asyncio.to_thread(store.read_all, keys)
        for data, body in zip(callbacks()[:media_count], bodies, strict=True):
            if data["file"]["name"].endswith(".MP4"):
                with av.open(io.BytesIO(body)) as video:
                    assert video.streams.video[0].codec_context.width == 320
                continue
            # a real JPEG whose EXIF/XMP say what the callback says (issue 11)
            meta, shot = read_photo(body), data["file"]["metadata"]
            assert meta.lat == pytest.approx(shot["shoot_position"]["lat"], abs=1e-6)
            assert meta.lng == pytest.approx(shot["shoot_position"]["lng"], abs=1e-6)
            assert meta.absolute_altitude == pytest.approx(shot["absolute_altitude"], abs=1e-2)
            assert meta.relative_altitude == pytest.approx(shot["relative_altitude"], abs=1e-2)
            assert meta.gimbal_yaw == pytest.approx(float(shot["gimbal_yaw_degree"]), abs=1e-2)
            assert meta.gimbal_pitch == -45.0 and meta.camera_model
        assert sorted(dock.uploaded) == sorted(keys)
        assert not dock.media_error
    finally:
        await fleet.stop()


async def test_refused_upload_is_not_reported(
    mosquitto: Mosquitto, cloud: Cloud, store: Store
) -> None:
    prefix = "media/ws-2"
    creds = store.server.access.mint(prefix=prefix)
    cloud.answers["storage_config_get"] = store.sts(creds, prefix, secret="wrong-secret")
    fleet = Fleet(FleetOptions(mosquitto.url, docks=3, binding_code="qwe", seed=72, speedup=100.0))
    await fleet.start(timeout_s=10)
    try:
        dock = fleet.docks[2]
        await fly(cloud, dock, "f-refused")
        await cloud.wait(lambda: dock.media_error, within=20, what="the upload refused")
        assert "403" in dock.media_error
        assert not cloud.on(f"thing/product/{dock.sn}/events", "file_upload_callback")
    finally:
        await fleet.stop()

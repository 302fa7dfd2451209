"""A real service and a real `creditflow worker` process: a photo goes through end to end."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.server import Server, creditflow_command
from tests.images import image_bytes

StartServer = Callable[..., Server]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_worker_process_upscales_a_photo_and_makes_an_stl(
    start_server: StartServer, tmp_path: Path
) -> None:
    from stl import mesh

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    server = start_server(url)
    key = subprocess.run(
        creditflow_command("keys", "create", "--role", "worker", "--db", url),
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    with server.client() as client:
        account = client.post("/v1/accounts", json={"external_id": "w", "email": "w@x.io"}).json()
        grant = {"credits": 100, "kind": "purchased", "reason": "e2e"}
        client.post(f"/v1/accounts/{account['id']}/grants", json=grant).raise_for_status()
        photo = image_bytes("JPEG", (300, 200), "orange")
        jobs = []
        for operation in ("upscale", "image_to_stl"):
            response = client.post(
                f"/v1/accounts/{account['id']}/jobs",
                data={"operation": operation, "params": '{"resolution": 30}'},
                files={"image": ("photo.jpg", photo, "image/jpeg")},
            )
            assert response.status_code == 201, response.text
            jobs.append(response.json()["id"])
        worker = subprocess.run(
            creditflow_command(
                "worker",
                "--url",
                server.url,
                "--key",
                key,
                "--max-jobs",
                "2",
                "--poll-interval",
                "0.1",
            ),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert worker.returncode == 0, worker.stderr
        upscale, stl = (client.get(f"/v1/jobs/{job}").json() for job in jobs)
        assert (upscale["status"], stl["status"]) == ("succeeded", "succeeded")
        big = client.get(upscale["outputs"][0]["url"])
        assert Image.open(io.BytesIO(big.content)).size == (600, 400)
        model = client.get(stl["outputs"][0]["url"])
        path = tmp_path / "model.stl"
        path.write_bytes(model.content)
        solid = mesh.Mesh.from_file(str(path))
        w, h = 30, 20  # the longest side scaled to the resolution
        assert len(solid.vectors) == 4 * (w - 1) * (h - 1) + 4 * (w - 1) + 4 * (h - 1)
        balance = client.get(f"/v1/accounts/{account['id']}/balance").json()
        assert (balance["available"], balance["held"]) == (100 - 4 - 20, 0)

"""The built-in processors on real images made here, and the worker against a fake server."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from creditflow.jobs.processors import PROCESSORS, Output, UnknownOperation, process
from creditflow.jobs.worker import Worker


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decode(output: Output) -> Image.Image:
    image = Image.open(io.BytesIO(output.data))
    image.load()
    return image


def only(outputs: list[Output]) -> Output:
    assert len(outputs) == 1
    return outputs[0]


def gradient(width: int, height: int) -> Image.Image:
    xs = np.linspace(0, 255, width, dtype=np.float64)[None, :]
    ys = np.linspace(0, 255, height, dtype=np.float64)[:, None]
    pixels = np.stack([xs + 0 * ys, ys + 0 * xs, (xs + ys) / 2], axis=2).astype(np.uint8)
    return Image.fromarray(pixels, mode="RGB")


def product_shot() -> Image.Image:
    """A red disc on a plain white 256x256 background."""
    image = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(image).ellipse((64, 64, 192, 192), fill=(220, 20, 30))
    return image


# --------------------------------------------------------------------------------------------
# Processors
# --------------------------------------------------------------------------------------------


def test_upscale_doubles_width_and_height() -> None:
    output = only(process("upscale", png(gradient(37, 21)), {}))

    assert (output.content_type, output.name) == ("image/png", "upscaled.png")
    assert decode(output).size == (74, 42)


def test_enhance_keeps_the_size_and_stretches_a_low_contrast_image() -> None:
    dull = np.clip(np.asarray(gradient(64, 48), dtype=np.float64) * 0.2 + 100, 0, 255)
    source = Image.fromarray(dull.astype(np.uint8), mode="RGB")

    output = only(process("enhance", png(source), {}))
    enhanced = decode(output)

    assert enhanced.size == source.size
    assert np.asarray(enhanced, dtype=np.float64).std() > 2 * dull.std()


def test_remove_background_clears_a_plain_backdrop_and_keeps_the_subject() -> None:
    output = only(process("remove_background", png(product_shot()), {}))
    cutout = decode(output)

    assert cutout.mode == "RGBA"
    alpha = np.asarray(cutout.getchannel("A"))
    for corner in [(0, 0), (0, 255), (255, 0), (255, 255)]:
        assert alpha[corner] == 0
    assert alpha[128, 128] == 255
    assert (alpha[:, 0] == 0).all() and (alpha[0, :] == 0).all()


def test_remove_background_keeps_backdrop_coloured_areas_enclosed_by_the_subject() -> None:
    shot = product_shot()
    ImageDraw.Draw(shot).ellipse((118, 118, 138, 138), fill="white")  # a white label

    alpha = np.asarray(decode(only(process("remove_background", png(shot), {}))).getchannel("A"))

    assert alpha[128, 128] == 255
    assert alpha[0, 0] == 0


def serpentine(size: int) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """A corridor with one entrance that winds back and forth across the whole square."""
    passable = np.zeros((size, size), dtype=np.bool_)
    for row in range(1, size - 1, 4):
        passable[row : row + 2, 1 : size - 1] = True  # a corridor, two pixels high
        link = size - 3 if (row // 4) % 2 == 0 else 1  # joined to the next at alternate ends
        if row + 4 < size - 1:
            passable[row + 2 : row + 4, link : link + 2] = True
    passable[0, 1] = True  # the only way in from the border
    return passable


def test_background_flood_follows_a_winding_path_from_the_border_and_stops_at_a_cut() -> None:
    from creditflow.jobs.processors import _flood_from_border

    passable = serpentine(128)
    passable[61:63, 65] = False  # cut the corridor entered from the right at rows 61-62
    expected = passable.copy()
    expected[61:63, :65] = False
    expected[63:] = False

    reached = _flood_from_border(passable)

    assert expected[125, 64] == False and expected[57, 10]  # noqa: E712 - the layout is right
    assert (reached == expected).all()


def test_tag_names_the_dominant_colour_size_class_and_orientation() -> None:
    image = Image.new("RGB", (300, 200), (30, 60, 200))
    ImageDraw.Draw(image).rectangle((0, 0, 40, 40), fill=(250, 250, 250))

    output = only(process("tag", png(image), {}))
    result = json.loads(output.data)

    assert (output.content_type, output.name) == ("application/json", "tags.json")
    assert result["colors"][0]["name"] == "blue"
    assert result["colors"][0]["hex"].startswith("#")
    assert result["colors"][0]["share"] > 0.8
    assert (result["width"], result["height"]) == (300, 200)
    assert result["tags"][0] == "blue"
    assert "small" in result["tags"] and "landscape" in result["tags"]


@pytest.mark.parametrize(
    ("size", "expected"),
    [((600, 1000), ["medium", "portrait"]), ((2048, 2048), ["large", "square"])],
)
def test_tag_size_class_follows_the_longest_side(
    size: tuple[int, int], expected: list[str]
) -> None:
    result = json.loads(only(process("tag", png(Image.new("RGB", size, "white")), {})).data)

    assert result["tags"] == ["white", *expected]


def parse_stl(data: bytes) -> Any:
    from stl import mesh  # only the tests need numpy-stl

    return mesh.Mesh.from_file("model.stl", fh=io.BytesIO(data))


STL_RECORD = np.dtype([("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attr", "<u2")])


def expected_triangles(w: int, h: int) -> int:
    return 4 * (w - 1) * (h - 1) + 4 * (w - 1) + 4 * (h - 1)


def test_image_to_stl_writes_a_binary_stl_with_one_vertex_per_pixel() -> None:
    output = only(process("image_to_stl", png(gradient(40, 20)), {"resolution": 64}))
    solid = parse_stl(output.data)

    assert (output.content_type, output.name) == ("model/stl", "model.stl")
    assert len(output.data) == 84 + 50 * expected_triangles(40, 20)
    assert len(solid.vectors) == expected_triangles(40, 20)
    assert solid.x.min() == 0 and solid.x.max() == 39
    assert solid.y.min() == 0 and solid.y.max() == 19


def test_image_to_stl_downscales_keeping_the_aspect_ratio() -> None:
    solid = parse_stl(only(process("image_to_stl", png(gradient(200, 100)), {})).data)

    assert len(solid.vectors) == expected_triangles(64, 32)


def test_image_to_stl_makes_white_high_and_black_only_the_base() -> None:
    params = {"max_height_mm": 5.0, "base_mm": 1.0, "pixel_mm": 0.5}
    white = parse_stl(
        process("image_to_stl", png(Image.new("RGB", (10, 8), "white")), params)[0].data
    )
    black = parse_stl(
        process("image_to_stl", png(Image.new("RGB", (10, 8), "black")), params)[0].data
    )

    assert white.z.max() == pytest.approx(6.0)
    assert black.z.max() == pytest.approx(1.0)
    assert white.z.min() == black.z.min() == 0.0
    assert white.x.max() == pytest.approx(4.5)


def test_image_to_stl_is_a_closed_solid_with_outward_normals() -> None:
    data = only(process("image_to_stl", png(gradient(23, 17)), {})).data
    solid = parse_stl(data)

    assert solid.is_closed(exact=True)
    edges: dict[tuple[tuple[float, ...], tuple[float, ...]], int] = {}
    for triangle in solid.vectors:
        corners = [tuple(float(c) for c in corner) for corner in triangle]
        for start, end in zip(corners, corners[1:] + corners[:1], strict=True):
            edges[(start, end)] = edges.get((start, end), 0) + 1
    # every directed edge once, and its reverse once: watertight and consistently wound
    assert set(edges.values()) == {1}
    assert all((end, start) in edges for start, end in edges)
    volume, _, _ = solid.get_mass_properties()
    assert volume > 0  # outward normals give a positive signed volume
    # numpy-stl recomputes normals on load, so the stored ones are read from the bytes
    stored = np.frombuffer(data, dtype=STL_RECORD, offset=84)["normal"]
    assert np.allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-5)
    assert np.allclose(stored, solid.get_unit_normals(), atol=1e-5)


def test_image_to_stl_volume_of_a_flat_image_is_the_box_under_it() -> None:
    params = {"max_height_mm": 4.0, "base_mm": 2.0, "pixel_mm": 1.0}
    solid = parse_stl(
        process("image_to_stl", png(Image.new("RGB", (11, 6), "white")), params)[0].data
    )

    volume, _, _ = solid.get_mass_properties()

    assert volume == pytest.approx(10 * 5 * 6.0)


def test_generate_returns_a_labelled_placeholder_of_the_asked_size() -> None:
    params = {"prompt": "a lighthouse at dusk", "width": 320, "height": 200}
    output = only(process("generate", b"", params))
    image = decode(output)

    assert output.content_type == "image/png"
    assert "placeholder" in output.name
    assert image.size == (320, 200)
    assert isinstance(image, Image.Image) and image.info["placeholder"] == "true"
    assert process("generate", b"", params)[0].data == output.data  # seeded by the prompt
    other = process("generate", b"", {**params, "prompt": "a forest"})[0].data
    assert other != output.data


def test_generate_caps_the_size_and_can_start_from_an_input_image() -> None:
    output = only(process("generate", png(product_shot()), {"width": 5000, "height": 64}))

    assert decode(output).size == (2048, 64)


def test_lora_training_returns_a_placeholder_model_card_and_preview() -> None:
    outputs = process("lora_training", png(gradient(300, 150)), {"name": "my-style"})

    card = json.loads(outputs[0].data)
    assert outputs[0].content_type == "application/json"
    assert card["placeholder"] is True
    assert card["name"] == "my-style"
    assert card["trained_on"] == {"width": 300, "height": 150}
    assert outputs[1].content_type == "image/png"
    assert max(decode(outputs[1]).size) <= 128


def test_an_unknown_operation_raises() -> None:
    with pytest.raises(UnknownOperation, match="teleport"):
        process("teleport", png(gradient(4, 4)), {})


def test_a_bad_parameter_is_rejected_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="'resolution' must be a whole number"):
        process("image_to_stl", png(gradient(4, 4)), {"resolution": "high"})


def test_input_that_is_not_an_image_is_rejected_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="not an image"):
        process("upscale", b"definitely not a png", {})


# --------------------------------------------------------------------------------------------
# Worker
# --------------------------------------------------------------------------------------------

BASE = "http://site.test"
KEY = "wk_test_key"


class FakeServer:
    """Plays the site's side of the job protocol and records what the worker sent."""

    def __init__(self, jobs: list[dict[str, Any]], inputs: dict[str, bytes]) -> None:
        self.jobs = list(jobs)
        self.inputs = inputs
        self.claims: list[Any] = []
        self.completed: dict[str, Any] = {}
        self.failed: dict[str, Any] = {}
        self.idempotency_keys: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        path = request.url.path
        if request.method == "POST" and path == "/v1/jobs/claim":
            self.claims.append(json.loads(request.content))
            if not self.jobs:
                return httpx.Response(204)
            return httpx.Response(200, json=self.jobs.pop(0))
        if request.method == "GET" and path.endswith("/input"):
            job_id = path.split("/")[3]
            return httpx.Response(200, content=self.inputs[job_id])
        if request.method == "POST" and path.endswith(("/complete", "/fail")):
            job_id, outcome = path.split("/")[3:5]
            self.idempotency_keys.append(request.headers["Idempotency-Key"])
            target = self.completed if outcome == "complete" else self.failed
            target[job_id] = json.loads(request.content)
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(404)


def job(job_id: str, operation: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": job_id,
        "operation": operation,
        "params": params or {},
        "input_url": f"/v1/jobs/{job_id}/input",
        "status": "running",
    }


def worker_for(server: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> Worker:
    client = httpx.Client(transport=httpx.MockTransport(server))
    return Worker(BASE, KEY, client=client, poll_interval=0.0, **kwargs)


def test_worker_completes_a_claimed_job_with_the_processor_outputs() -> None:
    source = gradient(30, 20)
    server = FakeServer([job("job_1", "upscale")], {"job_1": png(source)})

    assert worker_for(server).run_once() == "job_1"

    assert server.claims == [{"operations": list(PROCESSORS)}]
    (output,) = server.completed["job_1"]["outputs"]
    assert (output["content_type"], output["name"]) == ("image/png", "upscaled.png")
    upscaled = Image.open(io.BytesIO(base64.b64decode(output["data"])))
    assert upscaled.size == (60, 40)
    assert server.idempotency_keys == ["complete-job_1"]
    assert server.failed == {}


def test_worker_fails_the_job_with_the_processor_error_message() -> None:
    server = FakeServer(
        [job("job_2", "image_to_stl", {"resolution": "high"})], {"job_2": png(gradient(8, 8))}
    )

    assert worker_for(server).run_once() == "job_2"

    assert "'resolution' must be a whole number" in server.failed["job_2"]["error"]
    assert server.idempotency_keys == ["fail-job_2"]
    assert server.completed == {}


def test_worker_fails_a_job_whose_operation_it_does_not_know() -> None:
    server = FakeServer([job("job_3", "teleport")], {"job_3": png(gradient(8, 8))})

    worker_for(server).run_once()

    assert "teleport" in server.failed["job_3"]["error"]


def test_worker_returns_none_when_nothing_is_queued() -> None:
    server = FakeServer([], {})

    assert worker_for(server, operations=["tag"]).run_once() is None
    assert server.claims == [{"operations": ["tag"]}]


def test_worker_run_stops_after_max_jobs_and_survives_network_errors() -> None:
    server = FakeServer(
        [job("job_4", "tag"), job("job_5", "enhance")],
        {"job_4": png(gradient(8, 8)), "job_5": png(gradient(8, 8))},
    )
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return server(request)

    assert worker_for(flaky).run(max_jobs=2) == 2
    assert set(server.completed) == {"job_4", "job_5"}

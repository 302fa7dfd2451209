"""`creditflow serve` refuses a configuration it cannot honour, before it takes any request."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.server import creditflow_command


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        creditflow_command("serve", "--db", f"sqlite:///{tmp_path}/x.db", "--port", "1"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize(
    "url", ["ftp://mail.example", "smtp://", "smtp://host:port", "smtp://h:25?starttls=maybe"]
)
def test_a_malformed_smtp_url_is_refused_at_start(tmp_path: Path, url: str) -> None:
    result = serve(tmp_path, CREDITFLOW_SMTP_URL=url)
    assert result.returncode != 0
    assert "CREDITFLOW_SMTP_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_provider_name_is_refused_at_start(tmp_path: Path) -> None:
    result = serve(tmp_path, CREDITFLOW_PROVIDERS="test,paypal")
    assert result.returncode != 0
    assert "paypal" in result.stderr and "Traceback" not in result.stderr

"""`pgsage serve` that cannot listen: one `pgsage: error:` line and exit 2."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from pgsage.analyzer.app.cli import app


@pytest.mark.parametrize("taken", [True, False])
def test_a_listen_address_that_cannot_be_used_is_one_error_line(taken: bool) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        listen = f"127.0.0.1:{busy.getsockname()[1]}" if taken else "256.1.1.1:9187"
        result = CliRunner().invoke(app, ["serve", "--listen", listen, "host=127.0.0.1 port=1"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"pgsage: error: cannot listen on {listen}: "
        + ("address already in use" if taken else "name or service not known")]

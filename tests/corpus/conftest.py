"""The corpus's server: one throwaway server per test module and server version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import PgServer
from corpus.harness import Corpus, corpus_on


@pytest.fixture(scope="module")
def corpus(pg_server: PgServer) -> Iterator[Corpus]:
    with corpus_on(pg_server) as server:
        yield server

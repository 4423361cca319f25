import pytest

from .fixtures import build_tree


@pytest.fixture(scope="session")
def tree61(tmp_path_factory):
    return build_tree(tmp_path_factory.mktemp("m61"), "6.1", raw=True)


@pytest.fixture(scope="session")
def tree612(tmp_path_factory):
    return build_tree(tmp_path_factory.mktemp("m612"), "6.12", raw=False)

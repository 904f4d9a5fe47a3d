from importlib.metadata import version

import fst
from fst.version import __version__


def test_one_version_for_the_package_its_metadata_and_its_files():
    assert fst.__version__ == __version__ == version("fst-style")  # pyproject reads it from fst/version.py
    assert [int(part) for part in __version__.split(".")] >= [0, 1, 0]

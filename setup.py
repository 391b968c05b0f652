"""The one build setting pyproject.toml cannot say: ship the repository's models/ in the package.

Every folder of sentiment/ is found automatically (a new sub-package needs no edit here), and
models/ becomes the sub-package ``sentiment.models``, so the wheel installs each shipped model as
``sentiment/models/<name>/``. Which model folders go in is the package-data of
``sentiment.models`` in pyproject.toml; everything else about the build is there too.
"""
from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["sentiment", "sentiment.*"]), "sentiment.models"],
    package_dir={"sentiment.models": "models"},
)

"""Packaging that pyproject.toml cannot express: the repository's top-level fixtures/ ships inside the package
as `conformance/fixtures` (package data), so an installed kit can certify images outside a checkout."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["conformance*", "app*", "nms_cpp*"]), "conformance.fixtures"],
    package_dir={"conformance.fixtures": "fixtures"},
)

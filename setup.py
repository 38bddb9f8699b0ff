"""Packaging that pyproject.toml cannot express: the repository's top-level fixtures/ ships inside the package
as `conformance/fixtures` (package data), so an installed kit can certify images outside a checkout. Every data
folder (of fixtures/, and nms_cpp's sources) is listed as a namespace package of its own, as setuptools expects
of folders that could be imported."""

from setuptools import find_namespace_packages, find_packages, setup

NOT_DATA = ["*__pycache__*", "nms_cpp.build*"]
FIXTURES = ["conformance.fixtures", *(f"conformance.fixtures.{name}"
                                     for name in find_namespace_packages(where="fixtures", exclude=NOT_DATA))]
NMS_SOURCES = find_namespace_packages(include=["nms_cpp.*"], exclude=NOT_DATA)

setup(
    packages=[*find_packages(include=["conformance*", "app*", "nms_cpp*"]), *FIXTURES, *NMS_SOURCES],
    package_dir={"conformance.fixtures": "fixtures"},
)

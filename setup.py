"""Builds the optional C accelerators (``collector._speedups``); all metadata is in pyproject.toml.

``optional=True``: without a C compiler the install still succeeds and collector runs in
pure Python with identical results (see ``collector/speedups.py``).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("collector._speedups", ["collector/_speedups.c", "collector/_crc.c"], optional=True)])

"""Only one job beyond pyproject.toml: ship the default files inside the wheel.

A wheel built from this checkout carries copies of ``configs/``, ``knowledge_base/`` and
``monitoring/`` as ``autoops/_defaults/``, so ``pip install .`` works from any directory
(``autoops/paths.py`` looks there first, then beside the package in a source checkout).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DEFAULTS = ("configs", "knowledge_base", "monitoring")


class BuildWithDefaults(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout itself
            return
        for folder in DEFAULTS:
            target = Path(self.build_lib, "autoops", "_defaults", folder)
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithDefaults})

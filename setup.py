"""Maps the top-level drivers/ and plugins/ folders into the kkt_bridge namespace.

pyproject.toml cannot express "every package under drivers/, renamed", so this file
computes the package list; everything else lives in pyproject.toml.
"""

from setuptools import find_packages, setup

ROOTS = {
    "kkt_bridge": "kkt_bridge",
    "kkt_bridge.drivers": "drivers",
    "kkt_bridge.plugins": "plugins",
}


def _packages() -> list[str]:
    found: list[str] = []
    for name, folder in ROOTS.items():
        found.append(name)
        # plugins/template is a separate package that vendors copy, not part of ours
        subs = find_packages(folder, exclude=["template", "template.*"])
        found += [f"{name}.{sub}" for sub in subs]
    return sorted(set(found))


setup(packages=_packages(), package_dir=ROOTS)

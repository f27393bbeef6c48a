"""Pulumi entry point (`pulumi up` runs this folder). It composes the components and nothing else.

This folder has no ``__init__.py`` on purpose: it must never be importable as ``platform``, which
would shadow the standard library's ``platform`` module.
"""

from imagegen_platform.program import main

main()

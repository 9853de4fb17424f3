"""The ``memory-agent`` command (click): ``main`` is the console-script entry point."""

from memory_agent.apps.cli.main import cli, main

__all__ = ["cli", "main"]

"""``python -m memory_agent.apps.cli``."""

from memory_agent.apps.cli.main import main

raise SystemExit(main())

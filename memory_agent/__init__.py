"""memory-agent: long-term memory of a user for LLM applications."""

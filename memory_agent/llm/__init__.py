"""Model backends: the small ``LLM`` interface, a fake for tests, and llama.cpp."""

from .base import LLM, LLMStats
from .fake import FakeLLM
from .structured import generate_structured

__all__ = ["LLM", "FakeLLM", "LLMStats", "generate_structured"]

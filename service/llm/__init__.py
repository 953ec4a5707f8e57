"""LLM backends behind one small Protocol (`service.llm.base.Generator`)."""

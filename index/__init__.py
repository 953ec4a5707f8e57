def __getattr__(name: str) -> object:
    # Lazy so `import index` stays cheap (LangChain, FAISS and torch load on first use).
    if name == "XinDaRetriever":
        from index.langchain import XinDaRetriever

        return XinDaRetriever
    raise AttributeError(name)

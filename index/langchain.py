"""`XinDaRetriever`: XinDa's hybrid retrieval as a LangChain retriever."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.retriever import HybridRetriever, Mode


class XinDaRetriever(BaseRetriever):
    """Returns LangChain `Document`s whose metadata are the Hit fields (CONTRACT shape)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: HybridRetriever
    k: int = 5
    mode: Mode = "hybrid"

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self.retriever.search(query, k=self.k, mode=self.mode)
        documents = []
        for hit in result.hits:
            metadata: dict[str, Any] = hit.to_dict()
            text = metadata.pop("text")
            documents.append(Document(page_content=text, metadata=metadata))
        return documents

"""Answering a query: query pictures read safely (``images``), a sentence or picture turned into
ranked moments (``search``), moments merged and folded (``ranking``), and how strongly each
stands out from the library (``relevance``).
"""

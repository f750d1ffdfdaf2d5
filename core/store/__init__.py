"""Storage: the SQLite catalog (the truth), the hnswlib vector index (a rebuildable cache), the
library folder's file layout and its write lock. Nothing here decodes video or runs a model.
"""

"""Ingest: from folders on disk to encoded moments.

Data flow: ``scan`` lists candidate videos → ``sync`` reconciles them with the catalog (new,
modified, moved, copied, deleted) → ``job`` runs the pipeline for pending videos: ``sample``
decodes frames at the library's rate, ``thumbnails`` keeps a picture per moment, the encoder
embeds frames, ``segments`` plans the moments and ``pooling`` turns frame vectors into moment
vectors through the bundle's head. The job hands finished videos to a sink (the library).
"""

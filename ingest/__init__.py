"""XinDa: ingest stage."""

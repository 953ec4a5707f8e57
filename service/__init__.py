"""XinDa: service stage."""

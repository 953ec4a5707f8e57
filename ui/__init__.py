"""XinDa: ui stage."""

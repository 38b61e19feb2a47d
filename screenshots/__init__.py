"""Current pictures of every screen, made from the deterministic demo home (``python -m screenshots``)."""

"""Participants' private pages (``/p/<token>``): views, templates and the stylesheet."""

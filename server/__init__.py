"""``mentorsync serve``: the HTTP app above the feeds and the participants' pages.

``server.site`` holds what requests share (the read-only database, caches, limits),
``server.app`` the routes and the ASGI entry point, ``server.listener`` runs it under uvicorn.
"""

from server.app import create_app
from server.listener import make_server, serve

__all__ = ["create_app", "make_server", "serve"]

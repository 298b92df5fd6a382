"""Private calendar feeds: tokens, publishing and the HTTP server."""

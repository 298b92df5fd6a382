"""Telling people by email: introductions, change notices, invitations, and the outbox.

``compose`` decides who gets what (pure: from the cycle's plan and what each person was last
told), ``invite`` builds the iTIP calendar parts with the feed's own event builder, ``mime``
renders the messages from Jinja2 templates, ``outbox`` records them in the workspace database and
``smtp`` delivers them. ``pipeline.notify`` ties these together for ``mentorsync notify``.
"""

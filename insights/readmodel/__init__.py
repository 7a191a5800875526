"""The Redis read model's layout, shared by its writer (``consumers``) and its readers (``web``).

``keys`` names every key and holds the layout version, ``lua/`` the server-side
scripts (loaded by ``redisdb``, which also makes the connections), ``userstate``
the per-user counter fields and the users' scores, ``generation`` the durable
marker PostgreSQL keeps of the read model Redis must hold.
"""

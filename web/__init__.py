"""The read side: a FastAPI app serving the dashboard, the read API, live sockets and exports
(``docs/api.md``).

- ``app`` builds the app once (lifespan, middleware, routers); ``deps`` gives the
  routes typed ``Annotated`` access to what it holds; ``state``, ``engine``
  (PostgreSQL and Redis clients) and ``metrics`` are its parts.
- ``api``: the routes, one router per resource (tabs, users, export, health,
  pages, docs, live sockets).
- ``auth``: accounts and API tokens, passwords, log-in sessions, the throttle,
  and the check of each request's credentials.
- ``live``: the live documents: one Redis listener, the hub fanning each watched
  document out to per-socket mailboxes, and the documents it computes.
- ``tabs`` (the Redis tab reader, behind ``reader``'s protocol), ``profile``
  with ``profile_queries`` and ``timeline`` (a user's drill-down from
  PostgreSQL), ``exports`` (CSV), ``freshness``, ``formats`` (times and JSON).
- ``readcheck``, ``outage`` and ``deadlines``: never a wrong number or a hang:
  the read model's generation checked, 503s naming the part that is down,
  bounded waits on PostgreSQL.
- ``server``: the HTTP server's bounds and security headers.

The read path writes nothing to Redis but its scratch keys (named so in
``insights.readmodel.keys``, with a TTL) and the log-in state of ``auth``.
"""

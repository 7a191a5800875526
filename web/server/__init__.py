"""The HTTP server's bounds and headers: the request-head parser with its size and time limits
(``http_protocol``), body limits (``request_limits``), the WebSocket caps (``socket_quota``),
security headers (``security_headers``) and their wiring into uvicorn (``limits``)."""

"""Who may read insights: dashboard accounts and API tokens (``accounts``), argon2 passwords
(``passwords``), log-in sessions (``sessions``), the log-in throttle (``throttle``) and the
check of each request's credentials (``identity``)."""

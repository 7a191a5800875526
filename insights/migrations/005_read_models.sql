-- The Redis read model's generation per key prefix: what PostgreSQL vouches the keys
-- under the prefix are. A rebuild (or a fresh start) ends by writing a new generation
-- here and then into Redis ({prefix}:{o}:generation); a Redis that lost its data (restarted
-- empty, flushed, failed over to an empty replica) no longer holds the value recorded
-- here, and consumers and the web app see it at once instead of serving wrong numbers.
CREATE TABLE read_models (
    prefix      text PRIMARY KEY,
    generation  text NOT NULL,
    built_at    timestamptz NOT NULL DEFAULT now()
);

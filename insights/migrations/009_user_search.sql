-- Finding a user by name, e-mail or id (GET /api/users?q=): each word of the name and
-- the e-mail address as one searchable vector ('simple': lower case, no stemming, so a
-- word's beginning matches it), served by a GIN index; an id is the primary key.
ALTER TABLE users ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(email, ''))) STORED;
CREATE INDEX users_search ON users USING gin (search);

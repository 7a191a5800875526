"""Live documents over WebSockets: the Redis ``listener`` of the consumer's announcements, the
``hub`` that recomputes each watched document at most every interval and fans it out, and
``views``: what each kind of socket watches and how its document is computed."""

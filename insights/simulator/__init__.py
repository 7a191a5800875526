"""The traffic simulator: a seeded model of a site's users (``traffic``) and the runner that
sends its events through the producer (``runner``)."""

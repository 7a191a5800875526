"""The consumer's stages, named and in order: the durable write, then the projection.

``Stages`` is what a ``Pipeline`` runs. Each stage is built by a picklable
factory inside its own writer process (``consumers.processes``); where each
stage stands is read by a small function of its own (``consumers.offsets``),
so the consumer's process never builds a stage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from consumers import offsets
from consumers.durable import PostgresWrite
from consumers.guard import GuardedProjection, prepare_read_model
from consumers.projection import SINK as PROJECTION
from consumers.protocol import DurableWrite, Projection
from insights.events.kafka import Partition
from insights.settings import Settings
from insights.stack import StackUrls

OffsetReader = Callable[[Sequence[Partition]], dict[Partition, int]]
"""The next offsets a stage stored for these partitions (picklable, no stage built)."""


@dataclass(frozen=True)
class Stages:
    """The durable write, and the projection that reads what it committed (``None``:
    PostgreSQL only). The projection runs one batch behind the write, on the write's
    ``Committed`` answer for that batch."""

    write: Callable[[], DurableWrite]
    write_offsets: OffsetReader
    projection: Callable[[], Projection] | None = None
    projection_offsets: OffsetReader | None = None
    #: Makes the read model ready before anything is consumed (a fresh one must get its
    #: generation before PostgreSQL holds any event); run once, in the consumer's process.
    prepare: Callable[[datetime], None] | None = None
    #: Stops PostgreSQL vouching for the read model, whose offsets of these partitions
    #: fell behind Kafka's log (``consumers.offsets.condemn``).
    condemn: Callable[[Sequence[Partition]], None] | None = None

    def offset_readers(self) -> list[tuple[str, OffsetReader]]:
        """Each stage's name and reader; a partition resumes at the lowest offset they give."""
        readers = [(offsets.DURABLE, self.write_offsets)]
        if self.projection_offsets is not None:
            readers.append((PROJECTION, self.projection_offsets))
        return readers


def stages(settings: Settings, urls: StackUrls) -> Stages:
    """PostgreSQL's write, then (unless ``redis_sink`` is off) Redis's projection."""
    write = Stages(partial(PostgresWrite, urls.postgres_url),
                   partial(offsets.durable, urls.postgres_url))
    if not settings.redis_sink:
        return write
    return Stages(write.write, write.write_offsets,
                  partial(GuardedProjection, urls.redis_url, urls.postgres_url,
                          settings.redis_prefix, settings.sections,
                          rebuild=settings.rebuilds_redis(), alerts=settings.alerts),
                  partial(offsets.projected, urls.redis_url, urls.postgres_url,
                          settings.redis_prefix),
                  partial(prepare_read_model, urls.redis_url, urls.postgres_url,
                          settings.redis_prefix, settings.sections,
                          rebuild=settings.rebuilds_redis()),
                  partial(offsets.condemn, urls.redis_url, urls.postgres_url,
                          settings.redis_prefix))

"""The ceiling of one ingest worker's request path: the real ingest server, whose publisher acknowledges every
accepted event at once without sending it. Everything else is the real path: HTTP, the body, decoding,
validation, event ids and times, encoding, duplicates, receipts. Benchmark only; run as
``python -m benchmarks.unpublished_ingest`` with ingest's environment settings."""

from collections.abc import Mapping, Sequence

from pulse_common.http.serve import serve
from pulse_ingest.__main__ import worker_app
from pulse_ingest.publisher import Message, Publisher
from pulse_ingest.settings import IngestSettings


class AcknowledgeAtOnce(Publisher):
    """Answers every publish as acknowledged, sending nothing: a broker that costs nothing."""

    async def publish_all(self, messages: Mapping[str, Sequence[Message]]) -> None:
        return None


def main() -> None:
    settings = IngestSettings()
    serve(worker_app(AcknowledgeAtOnce), settings.host, settings.port)


if __name__ == "__main__":
    main()

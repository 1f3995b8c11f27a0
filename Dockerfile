# syntax=docker/dockerfile:1
# One image for every role: `pulse run ROLE` with ROLE one of ingest, metrics-api, metrics-consumer, feedback-api,
# feedback-consumer, migrate. Two stages: the build stage installs Pulse into a virtual environment; the runtime
# stage is Python slim with that environment alone, run by an unprivileged user, and needs no writable path (the
# Kubernetes manifests mount the root filesystem read-only, with an emptyDir on /tmp).
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/pulse
COPY pyproject.toml README.md ./
COPY libs ./libs
COPY services ./services
RUN /opt/pulse/bin/pip install --no-cache-dir .

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/pulse/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PULSE_HOST=0.0.0.0
COPY --from=build /opt/pulse /opt/pulse
RUN groupadd --system --gid 10001 pulse \
    && useradd --system --uid 10001 --gid pulse --no-create-home --shell /usr/sbin/nologin pulse
USER 10001:10001
# ingest 8000, metrics-api 8001, feedback-api 8002, the consumers' health and metrics 9101 (metrics), 9103 (metrics,
# the adoption projection alone) and 9102 (feedback)
EXPOSE 8000 8001 8002 9101 9102 9103
ENTRYPOINT ["pulse", "run"]
CMD ["ingest"]

# promoter's own image: the CLI on python:3.12-slim, running as a non-root user.
FROM python:3.12-slim AS runtime

ARG VERSION=0.0.0.dev0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY promoter ./promoter
RUN pip install . \
    && rm -rf /src \
    && useradd --uid 10001 --no-log-init --create-home --shell /usr/sbin/nologin promoter

USER 10001:10001
WORKDIR /work
LABEL org.opencontainers.image.title="promoter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["promoter"]
CMD ["--help"]

# The iotgraph image behind the api and worker services of docker-compose.yml.
FROM python:3.11-slim

# Set to PyTorch's CPU-only wheel index to leave the CUDA libraries out of the image.
ARG TORCH_INDEX_URL=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY api ./api
COPY cypher ./cypher
COPY graphdb ./graphdb
COPY ingest ./ingest
COPY iotgraph ./iotgraph
COPY ml ./ml
RUN pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} . \
    && useradd --create-home --uid 10001 iotgraph \
    && mkdir -p /data/models \
    && chown -R iotgraph /data

USER iotgraph
VOLUME /data
EXPOSE 8000
CMD ["iotgraph", "serve", "--host", "0.0.0.0"]

# cbec-logistics: one image for every process role (api, worker, ingest, migrate).
#   docker build -t cbec-logistics .
#   docker run --rm -p 8000:8000 cbec-logistics            # cbec serve on embedded defaults (demo)
# compose.yaml runs the roles apart on PostgreSQL, Mosquitto and a Dask scheduler.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY optimizer optimizer
COPY simulation simulation
COPY iot_ingest iot_ingest
COPY storage storage
COPY api api
COPY data data
COPY jobs jobs
COPY accounts accounts
RUN pip wheel --no-deps -w /wheels . && pip wheel -w /wheels /wheels/cbec_logistics-*.whl

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CBEC_VAR_DIR=/var/lib/cbec CBEC_LOG_FORMAT=json
RUN useradd --system --home /var/lib/cbec --create-home cbec
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
USER cbec
WORKDIR /var/lib/cbec
EXPOSE 8000
# /readyz: database reachable and migrated, broker connected (when this process ingests)
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"
ENTRYPOINT ["cbec"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

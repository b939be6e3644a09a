FROM python:3.11-slim
WORKDIR /opt/vn_pipeline
COPY pyproject.toml README.md ./
COPY vn_pipeline ./vn_pipeline
RUN pip install --no-cache-dir .
COPY dagster.yaml docker/workspace.yaml /opt/dagster/home/
COPY dbt ./dbt

# Not built on the development machines (no Docker engine there); it runs the same
# install and start commands as `make run`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server.py ./
COPY domain ./domain
COPY persistence ./persistence
COPY schema ./schema
COPY resolvers ./resolvers
COPY mail ./mail
RUN pip install --no-cache-dir . && useradd --create-home gateway && mkdir -p /app/data && chown gateway /app/data
USER gateway
EXPOSE 8000
CMD ["python", "server.py"]

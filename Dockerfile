# Penny: slim runtime image, non-root, health-checked.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY tools ./tools
COPY schedules ./schedules
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=3000 PENNY_DB=/data/penny.db
COPY --from=build /install /usr/local
RUN useradd --create-home --uid 10001 penny && mkdir /data && chown penny /data
USER penny
WORKDIR /home/penny
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os,sys,urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT','3000'), timeout=4).status == 200 else 1)"
CMD ["python", "-m", "bot"]

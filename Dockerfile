# The production image: one image, three roles (api, writer, feeds) chosen by the command.
FROM node:20-bookworm-slim AS dashboard
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
WORKDIR /app
RUN useradd --system --home /app ioc
COPY pyproject.toml requirements.lock README.md ./
COPY ioc/ ioc/
COPY feeds/ feeds/
COPY geo/ geo/
RUN pip install --no-cache-dir -c requirements.lock .
COPY packs/ packs/
COPY --from=dashboard /src/frontend/dist frontend/dist
ENV IOC_CITY_PACK=/app/packs/hanoi IOC_FRONTEND_DIST=/app/frontend/dist
USER ioc
EXPOSE 8000
# The API role's check; docker-compose.yml gives the writer and feeds roles theirs.
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=4 \
    CMD ["ioc", "health", "--role", "api"]
CMD ["ioc", "api"]

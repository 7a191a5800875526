# One image for every job (consumer, web, one-shot tasks); the command picks the job.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -e . && useradd --system --uid 10001 insights
USER insights
ENTRYPOINT ["insights"]

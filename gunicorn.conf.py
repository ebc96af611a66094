"""gunicorn settings for `make demo` and production; override with GUNICORN_CMD_ARGS."""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# Never log query strings: presigned URLs and tokens travel there.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'

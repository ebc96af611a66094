"""The baseline for bench/api_bench.py: a bare Flask endpoint returning a small JSON object.

Served by the same gunicorn settings as the real app (`gunicorn.conf.py`), so the ratio
printed by the bench is what our app costs on top of Flask, gunicorn and the HTTP stack.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping() -> dict[str, object]:
    """A small JSON object, like the smallest answer of the real API."""
    return {"status": "ok", "service": "mashangcha", "version": 1}

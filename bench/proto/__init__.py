"""Prototypes of fixes the benchmarks point at, applied as patches at process start (app code unchanged).

Used by `bench/bulk_import.py --prototype`: gunicorn serves `bench.proto.wsgi:application` and the
worker runs `celery -A bench.proto.celery`. See docs/benchmarks.md for what they change and measure.
"""

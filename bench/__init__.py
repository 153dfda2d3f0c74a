"""Benchmarks: N simulated tablets (protocol level, asyncio, TLS) against a real server.

``python -m bench.fanout`` measures follow-the-chair fan-out; results go to
``docs/performance.md``. Every load loop here is bounded in count and in time, talks only
to 127.0.0.1, and every process it starts stops by itself.
"""

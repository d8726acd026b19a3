"""``manage.py bench``: every hot path timed at scale, each figure next to floors measured in
the same run (see docs/performance.md).

- ``client``: drives the real WSGI handler in-process (the path gunicorn runs) with cookies;
- ``floors``: captures a request's SQL and replays it through the driver and a bare view;
- ``stats``: percentiles, repeated rounds, medians and the noise flag;
- ``setup``: the bench's own users, keys and open change requests (through the actions);
- ``scenarios``: what is measured; ``report``: the JSON file and the Markdown table.
"""

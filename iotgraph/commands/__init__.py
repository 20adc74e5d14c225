"""Command modules of the ``iotgraph`` CLI; each exposes ``register(app)``."""

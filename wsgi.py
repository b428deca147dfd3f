"""The WSGI entry point: `gunicorn wsgi:app`."""

import gc

from compliance import create_app

app = create_app()

# What the app builds at start (modules, models, program definitions, compiled statements)
# lives as long as the worker. The collector's full passes would walk all of it again and
# again, and one such pass stalls the request it lands in (175 ms once on the development
# container); frozen after a last collection, it is left out of every pass.
gc.collect()
gc.freeze()

"""The agents over HTTP (FastAPI). ``autoops.api.main:app`` is the controller with every agent in-process."""

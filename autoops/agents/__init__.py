"""The agents as plain Python objects; ``autoops.api`` serves them over HTTP."""

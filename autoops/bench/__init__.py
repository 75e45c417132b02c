"""``make bench``: measured speed figures (``python -m autoops.bench [NAME ...]``).

One module per benchmark, each importing the engine it measures (never the reverse): ``env``
(simulator steps and exact solves), ``dqn`` (training throughput), ``responder`` (retrieval and
the LLM), ``services`` (the HTTP services and the stack); ``machine`` describes the machine they
ran on. Benchmarks measure; they never assert.
"""

"""What the benchmark scripts share, one module per job:

- ``paths``: where data, caches and results live, and a cache folder's name;
- ``models``: the model factory (fake or llama.cpp);
- ``answers``: the reader-answer cache, the prompt hash and prompt token counting;
- ``ingesting``: recording a session resumably and what the model spent on it;
- ``stats``: Wilson intervals and percentiles;
- ``results``: reading and writing result files, stamped by ``machine`` (machine, packages,
  git commit, command).
"""

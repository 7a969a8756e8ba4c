"""The runner: planning a run, executing items, scheduling them in turn or in worker processes,
and the run folder they are stored in.

Owns: plan (seeds, fingerprints), execute (one item: the unit every scheduler uses), runner
(the in-turn and the parallel scheduler, the cache lookup), workers (the worker processes),
store (run folders and atomic writes), manifest (manifest.json), catalogue (the items known
without importing Keras: what `harness list` and a bad item id answer from).
May import: harness's base modules (registry, context, config, errors, data) and harness.train.
Never imports the faces (cli, report, panel) nor experiments.
"""

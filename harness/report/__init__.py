"""The submission: one content model of a run (content), the written answers bound to its
numbers (answers), the HTML and PDF report (render) and the submission folder a team commits,
with its plain-Keras notebook (submission).

Reads a run folder and never trains. May import: harness.run (the run store), the base
modules, and harness.templates. Never imports the panel nor experiments.
"""

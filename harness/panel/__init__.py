"""`harness serve`: the presentation panel over one run.

Owns: app (the Gradio Blocks and their wiring), views (HTML of slides, timer, progress,
details), state (the panel's state: the run, its content views, the presenter draw), jobs
(the queue of live re-runs), explore (the VAE and GAN explorers' models).
May import: harness.report (the content model), harness.run, the base modules and
harness.templates. Never imports experiments: items reach it through the roles they register.
"""

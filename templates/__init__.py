"""The packaged templates (installed as ``mlops_ci.templates``): data, no code.

``report.md.j2`` and ``model-card.md.j2`` are the jinja2 templates of report.md and the model
card; ``project/`` is the example project ``mlops-ci init`` scaffolds. A user's
``report.template_dir`` wins over the templates here, file by file.
"""

"""The installed recipes: one YAML file per recipe (`python -m mezoo.train --recipe NAME`), as `mezoo.recipes`.

Every recipe resolves over `_base.yaml` (every setting's default, with its reason); see
`mezoo.recipe`.
"""

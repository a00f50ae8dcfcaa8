"""The paper's evidence from mezoo runs: the interaction-collapse toy, figures and tables of
finished runs, and the SE/ME scaling study (`python -m mezoo.toy`, `mezoo.analyze`,
`mezoo.scaling`)."""

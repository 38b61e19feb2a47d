"""``config.json``: the models, the schema the editor is built from, text-preserving edits and saving."""

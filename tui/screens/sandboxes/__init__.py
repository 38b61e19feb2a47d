"""The sandbox list screen (mode ``sandboxes``) with its table, detail panel and log tail."""

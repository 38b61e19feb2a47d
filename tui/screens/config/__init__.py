"""The config editor screen (mode ``config``) and its form, hosts pane, repair view and modals."""

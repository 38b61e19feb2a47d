"""The three top-level screens, one package each: the screen and its .tcss, widgets, messages, modals."""

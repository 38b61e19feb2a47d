"""Dialogs shared by more than one screen (confirm, help, home switcher)."""

"""The volume browser screen (mode ``volumes``): volume list, folder browser, scans, file actions, modals."""

"""Sessions in the app: File menu actions, autosave, crash recovery, the unsaved-changes guard."""

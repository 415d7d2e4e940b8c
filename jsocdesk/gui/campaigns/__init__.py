"""The window's campaigns: a tree model, the Exports-tab panel, the controller."""

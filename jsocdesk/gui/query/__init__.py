"""Query builder: the tree model over the core QueryTree, undo commands, delegates, panel."""

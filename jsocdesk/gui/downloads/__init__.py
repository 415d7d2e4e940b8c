"""The Downloads tab: a table model over the core DownloadQueue, its progress delegate, a view
that drags completed files out, and desktop notifications."""

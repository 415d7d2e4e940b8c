"""The Exports tab: plan, submit, follow, attach, cancel and split JSOC exports."""

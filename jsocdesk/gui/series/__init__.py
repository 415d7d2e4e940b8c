"""Series browser: the filterable list of series and the details of the selected one."""
